using System.Text;
using UglyToad.PdfPig.Content;
using UglyToad.PdfPig.Core;
using UglyToad.PdfPig.Fonts.Standard14Fonts;
using UglyToad.PdfPig.Writer;

namespace SynthPipeline.Pipeline.Tests.Augment;

/// <summary>Corpus folders for tests: good documents of every kind, and every kind of problem file.</summary>
internal static class TestCorpus
{
    public const string Tides = "The tide rises twice a day. The Moon's gravity pulls the ocean into two bulges.\n\nSpring tides come at new and full moon. Neap tides come at the quarter moons.";

    public static byte[] Pdf(params string[] lines)
    {
        var builder = new PdfDocumentBuilder();
        var font = builder.AddStandard14Font(Standard14Font.Helvetica);
        var page = builder.AddPage(PageSize.A4);
        for (var i = 0; i < lines.Length; i++) page.AddText(lines[i], 12, new PdfPoint(25, 700 - 20 * i), font);
        return builder.Build();
    }

    /// <summary>A PDF whose trailer names a standard security handler whose passwords match nothing.</summary>
    public static byte[] EncryptedPdf()
    {
        var text = Encoding.Latin1.GetString(Pdf("Secret harbour dues."));
        var encrypted = text.Replace("trailer\n<<", "trailer\n<< /Encrypt << /Filter /Standard /V 2 /R 3 /Length 128 /P -4 " +
            "/O (0123456789abcdef0123456789abcdef) /U (0123456789abcdef0123456789abcdef) >> /ID [<00112233445566778899aabbccddeeff> <00112233445566778899aabbccddeeff>]", StringComparison.Ordinal);
        if (encrypted == text) throw new InvalidOperationException("the PDF writer's trailer changed; update the test corpus");
        return Encoding.Latin1.GetBytes(encrypted);
    }

    /// <summary>Writes good.txt, good.md, good.html and good.pdf, plus the problem files when <paramref name="problems"/> is set.</summary>
    public static string Create(string folder, bool problems)
    {
        Directory.CreateDirectory(Path.Combine(folder, "sub"));
        File.WriteAllText(Path.Combine(folder, "good.txt"), Tides);
        File.WriteAllText(Path.Combine(folder, "sub", "good.md"), "# Lighthouse\n\nThe light flashes **twice** every ten seconds. See [the chart](https://example.org).");
        File.WriteAllText(Path.Combine(folder, "good.html"), "<html><head><script>x()</script></head><body><p>The harbour has two basins &amp; a pontoon.</p></body></html>");
        File.WriteAllBytes(Path.Combine(folder, "good.pdf"), Pdf("The ferry crosses the bay.", "It carries cars and bicycles."));
        if (!problems) return folder;
        File.WriteAllBytes(Path.Combine(folder, "empty.txt"), []);
        File.WriteAllBytes(Path.Combine(folder, "binary.txt"), [0x7F, 0x45, 0x4C, 0x46, 0x02, 0x01, 0x00, 0x00, 0x13]);
        File.WriteAllBytes(Path.Combine(folder, "latin1.txt"), Encoding.Latin1.GetBytes("Caf\u00e9 au lait at the harbour."));
        File.WriteAllBytes(Path.Combine(folder, "encrypted.pdf"), EncryptedPdf());
        File.WriteAllBytes(Path.Combine(folder, "broken.pdf"), Encoding.ASCII.GetBytes("%PDF-1.7\n1 0 obj << /Type /Catalog >>\nthis is not a PDF body\n%%EOF"));
        using (var big = File.Create(Path.Combine(folder, "big.txt")))
        {
            var block = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("The tide rises twice a day. ", 1000)));
            for (var written = 0L; written < 50L * 1024 * 1024; written += block.Length) big.Write(block);
        }
        return folder;
    }

    /// <summary>The reason each problem file of <see cref="Create"/> must get.</summary>
    public static readonly IReadOnlyDictionary<string, string> ProblemReasons = new Dictionary<string, string>
    {
        ["empty.txt"] = "empty", ["binary.txt"] = "binary", ["latin1.txt"] = "not_utf8", ["encrypted.pdf"] = "pdf_encrypted",
        ["broken.pdf"] = "pdf_unreadable", ["big.txt"] = "too_large",
    };
}

using System.Security.Cryptography;
using System.Text;
using SynthPipeline.Core.Corpus;
using UglyToad.PdfPig;
using UglyToad.PdfPig.DocumentLayoutAnalysis.TextExtractor;
using UglyToad.PdfPig.Exceptions;
using SynthPipeline.Core;

namespace SynthPipeline.Pipeline.Augment;

/// <summary>A readable document: its cleaned text and size.</summary>
/// <param name="File">Path relative to the corpus folder, with forward slashes: the document's id in provenance.</param>
/// <param name="Text">The cleaned text, which provenance spans refer to.</param>
/// <param name="Pages">PDF pages; for text documents, page equivalents of <see cref="CorpusReader.CharactersPerPage"/> characters.</param>
/// <param name="Sha256">Hash of the file's bytes: a resumed run refuses a document that changed.</param>
public sealed record CorpusDocument(string File, string Text, int Pages, string Sha256);

/// <summary>A document that cannot be used, and why, in words that say what to do.</summary>
public sealed record DocumentProblem(string File, string Reason, string Message);

/// <summary>
/// Finds and reads a corpus folder's documents (.txt, .md, .html, .pdf), one at a time, turning every defect of a
/// file into a <see cref="DocumentProblem"/> so that one bad file never stops the others.
/// </summary>
public sealed class CorpusReader(long maxBytes)
{
    /// <summary>Characters that count as one page of a text document in throughput figures (about 500 words).</summary>
    public const int CharactersPerPage = 3000;

    private static readonly string[] Supported = [".txt", ".text", ".md", ".markdown", ".html", ".htm", ".pdf"];
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Every file under <paramref name="folder"/> (hidden ones excepted), as sorted relative paths.</summary>
    public static IReadOnlyList<string> Files(string folder)
    {
        if (!Directory.Exists(folder))
            throw new UserErrorException($"the corpus folder '{Path.GetFullPath(folder)}' does not exist (Augment:Corpus or the FOLDER argument)");
        return Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(folder, f).Replace('\\', '/'))
            .Where(f => !f.Split('/').Any(part => part.StartsWith('.')))
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    public (CorpusDocument? Document, DocumentProblem? Problem) Read(string folder, string file)
    {
        var path = Path.Combine(folder, file);
        var extension = Path.GetExtension(file).ToLowerInvariant();
        DocumentProblem Problem(string reason, string message) => new(file, reason, $"'{file}': {message}");
        if (!Supported.Contains(extension))
            return (null, Problem("unsupported_type", $"'{extension}' files are not read; convert it to .txt, .md, .html or .pdf"));
        long length;
        try
        {
            length = new FileInfo(path).Length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (null, Problem("unreadable", e.Message));
        }
        if (length == 0) return (null, Problem("empty", "the file is empty"));
        if (length > maxBytes)
            return (null, Problem("too_large", $"{length / 1048576.0:F1} MB is over Augment:MaxFileMegabytes ({maxBytes / 1048576} MB); split it into smaller files or raise the limit"));
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (null, Problem("unreadable", e.Message));
        }
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        if (extension == ".pdf") return ReadPdf(file, bytes, sha, Problem);

        var (text, problem) = DecodeText(bytes, Problem);
        if (problem is not null) return (null, problem);
        var cleaned = extension switch
        {
            ".html" or ".htm" => TextCleaner.FromHtml(text!),
            ".md" or ".markdown" => TextCleaner.FromMarkdown(text!),
            _ => TextCleaner.Normalize(text!),
        };
        if (cleaned.Length == 0) return (null, Problem("empty", "no text is left after cleaning"));
        return (new CorpusDocument(file, cleaned, Math.Max(1, (cleaned.Length + CharactersPerPage - 1) / CharactersPerPage), sha), null);
    }

    private static (string? Text, DocumentProblem? Problem) DecodeText(byte[] bytes, Func<string, string, DocumentProblem> problem)
    {
        if (bytes.Length >= 2 && (bytes[0], bytes[1]) is (0xFF, 0xFE) or (0xFE, 0xFF))
            return ((bytes[0] == 0xFF ? Encoding.Unicode : Encoding.BigEndianUnicode).GetString(bytes, 2, bytes.Length - 2), null);
        var sample = bytes.AsSpan(0, Math.Min(bytes.Length, 65536));
        var nul = sample.IndexOf((byte)0);
        if (nul >= 0) return (null, problem("binary", $"binary data (a NUL byte at offset {nul}), not text; if it is a document, export it as text, HTML or PDF"));
        var start = bytes.AsSpan().StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? 3 : 0;
        try
        {
            return (StrictUtf8.GetString(bytes, start, bytes.Length - start), null);
        }
        catch (DecoderFallbackException e)
        {
            var bad = e.BytesUnknown is { Length: > 0 } b ? $"0x{b[0]:X2}" : "an invalid byte";
            return (null, problem("not_utf8", $"not UTF-8 text ({bad} at byte offset {start + e.Index}); convert it first, e.g. iconv -f WINDOWS-1252 -t UTF-8"));
        }
    }

    private static (CorpusDocument?, DocumentProblem?) ReadPdf(string file, byte[] bytes, string sha, Func<string, string, DocumentProblem> problem)
    {
        if (bytes.AsSpan(0, Math.Min(1024, bytes.Length)).IndexOf("%PDF-"u8) < 0)
            return (null, problem("pdf_unreadable", "not a PDF (no %PDF- header)"));
        try
        {
            using var pdf = PdfDocument.Open(bytes);
            var pages = new List<string>();
            foreach (var page in pdf.GetPages())
                pages.Add(TextCleaner.Normalize(ContentOrderTextExtractor.GetText(page)));
            var text = string.Join("\n\n", pages.Where(p => p.Length > 0));
            if (text.Length == 0)
                return (null, problem("no_text", $"the PDF's {pages.Count} pages hold no extractable text (scanned images?); run OCR on it first"));
            return (new CorpusDocument(file, text, pages.Count, sha), null);
        }
        catch (PdfDocumentEncryptedException)
        {
            return (null, problem("pdf_encrypted", "the PDF is encrypted with a password; save an unencrypted copy (e.g. qpdf --decrypt) to include it"));
        }
#pragma warning disable CA1031 // PdfPig signals a damaged file with many exception types; each is this file's problem, not the run's
        catch (Exception e)
#pragma warning restore CA1031
        {
            return (null, problem("pdf_unreadable", $"not a readable PDF ({e.GetType().Name}: {e.Message})"));
        }
    }
}

using System.Text;
using System.Text.Json;
using UglyToad.PdfPig.Content;
using UglyToad.PdfPig.Core;
using UglyToad.PdfPig.Fonts.Standard14Fonts;
using UglyToad.PdfPig.Writer;

namespace SynthPipeline.Cli.Tests;

public sealed class AugmentTests
{
    // Flash attention off for run-to-run identity (see GenerateTests). The demo model's random judges say NO to
    // nearly everything at the default temperature; a hotter single vote gives a mix of verdicts to count.
    private static readonly Dictionary<string, string> Demo = new()
    {
        ["Teacher__FlashAttention"] = "off", ["Augment__JudgeTemperature"] = "2", ["Augment__JudgeVotes"] = "1",
    };

    private static string Run(string dir, string name) => Path.Combine(dir, "output", name);

    private static string[] Lines(string path) => File.ReadAllLines(path).Where(l => l.Length > 0).ToArray();

    private static string ShippedCorpus => Path.Combine(AppContext.BaseDirectory, "seeds", "corpus");

    private static byte[] Pdf(string text)
    {
        var builder = new PdfDocumentBuilder();
        var font = builder.AddStandard14Font(Standard14Font.Helvetica);
        builder.AddPage(PageSize.A4).AddText(text, 12, new PdfPoint(25, 700), font);
        return builder.Build();
    }

    [Fact]
    public async Task Augment_CorpusWithEveryKindOfProblemFile_EachNamedWithItsCauseAndEveryOtherFileProcessed()
    {
        var dir = SynthProcess.ScratchDirectory();
        var corpus = Directory.CreateDirectory(Path.Combine(dir, "docs")).FullName;
        foreach (var f in Directory.GetFiles(ShippedCorpus)) File.Copy(f, Path.Combine(corpus, Path.GetFileName(f)));
        File.WriteAllBytes(Path.Combine(corpus, "ferry.pdf"), Pdf("The ferry crosses the bay every hour and carries cars and bicycles."));
        File.WriteAllBytes(Path.Combine(corpus, "empty.md"), []);
        File.WriteAllBytes(Path.Combine(corpus, "image.txt"), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00]);
        File.WriteAllBytes(Path.Combine(corpus, "legacy.txt"), Encoding.Latin1.GetBytes("Quay fees: 12 \u00a3 per night."));
        File.WriteAllBytes(Path.Combine(corpus, "broken.pdf"), Encoding.ASCII.GetBytes("%PDF-1.4\ngarbage\n%%EOF"));
        var locked = Encoding.Latin1.GetString(Pdf("Secret."));
        File.WriteAllBytes(Path.Combine(corpus, "locked.pdf"), Encoding.Latin1.GetBytes(locked.Replace("trailer\n<<",
            "trailer\n<< /Encrypt << /Filter /Standard /V 2 /R 3 /Length 128 /P -4 /O (0123456789abcdef0123456789abcdef) /U (0123456789abcdef0123456789abcdef) >> " +
            "/ID [<00112233445566778899aabbccddeeff> <00112233445566778899aabbccddeeff>]", StringComparison.Ordinal)));
        using (var big = File.Create(Path.Combine(corpus, "huge.txt")))
        {
            var block = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("The tide rises twice a day. ", 4096)));
            for (var n = 0L; n < 50L * 1024 * 1024; n += block.Length) big.Write(block);
            big.SetLength(50L * 1024 * 1024);
        }

        var r = await SynthProcess.RunAsync(dir, Demo, "augment", corpus, "--run-name", "a");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var expected = new Dictionary<string, string>
        {
            ["empty.md"] = "(empty) 'empty.md': the file is empty", ["image.txt"] = "(binary) 'image.txt': binary data",
            ["legacy.txt"] = "(not_utf8) 'legacy.txt': not UTF-8 text (0xA3 at byte offset 14)", ["broken.pdf"] = "(pdf_unreadable) 'broken.pdf': not a readable PDF",
            ["locked.pdf"] = "(pdf_encrypted) 'locked.pdf': the PDF is encrypted with a password", ["huge.txt"] = "(too_large) 'huge.txt': 50.0 MB is over Augment:MaxFileMegabytes",
        };
        foreach (var (_, message) in expected) Assert.Contains("skipped " + message, r.Stderr, StringComparison.Ordinal);

        var run = Run(dir, "a");
        using var stats = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "stats.json")));
        var root = stats.RootElement;
        Assert.Equal(4, root.GetProperty("documents_read").GetInt32());
        Assert.Equal(6, root.GetProperty("documents_with_problems").GetInt32());
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), root.GetProperty("problems").EnumerateArray().Select(p => p.GetProperty("file").GetString()!));
        var perFile = root.GetProperty("per_file");
        foreach (var good in new[] { "ferry.pdf", "harbour-guide.html", "lighthouse.txt", "tides.md" })
            Assert.Equal(perFile.GetProperty(good).GetProperty("chunks").GetInt32(), perFile.GetProperty(good).GetProperty("chunks_done").GetInt32());
        Assert.Equal(root.GetProperty("chunks").GetInt32(), root.GetProperty("chunks_done").GetInt32());
        Assert.Contains("## Files not used", File.ReadAllText(Path.Combine(run, "README.md")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Augment_DemoModel_MixedConversationsFollowTheConfiguredProportionsAndProvenancePointsIntoTheSources()
    {
        var dir = SynthProcess.ScratchDirectory();
        var r = await SynthProcess.RunAsync(dir, Demo, "augment", ShippedCorpus, "--run-name", "m", "--chunk-tokens", "128");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var run = Run(dir, "m");
        using var stats = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "stats.json")));
        var variants = stats.RootElement.GetProperty("variants");
        var accepted = new[] { "legitimate", "negative", "refusal" }.ToDictionary(k => k, k => variants.GetProperty(k).GetProperty("accepted").GetInt32());
        Assert.All(accepted, a => Assert.True(a.Value > 0, $"no {a.Key} example accepted"));
        foreach (var k in accepted.Keys)
        {
            var v = variants.GetProperty(k);
            Assert.Equal(v.GetProperty("generated").GetInt32(), v.GetProperty("accepted").GetInt32() + v.GetProperty("rejected").GetInt32());
            var reasons = stats.RootElement.GetProperty("rejections_by_reason").GetProperty(k).EnumerateObject().Sum(p => p.Value.GetInt32());
            Assert.Equal(v.GetProperty("rejected").GetInt32(), reasons);
        }

        // Default mix 0.6 / 0.2 / 0.2, 2-4 exchanges: as many turns as the scarcest kind allows, in exact proportion.
        var shares = new Dictionary<string, double> { ["legitimate"] = 0.6, ["negative"] = 0.2, ["refusal"] = 0.2 };
        var turns = shares.Min(s => Math.Floor(accepted[s.Key] / s.Value + 1e-9));
        var records = Lines(Path.Combine(run, "openai-chat.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var mixed = records.Where(c => c.GetProperty("kinds").GetArrayLength() > 1).ToList();
        foreach (var (kind, share) in shares)
            Assert.Equal((int)Math.Floor(turns * share + 1e-9), mixed.Sum(c => c.GetProperty("kinds").EnumerateArray().Count(k => k.GetString() == kind)));
        Assert.All(mixed, c => Assert.InRange(c.GetProperty("kinds").GetArrayLength(), 2, 4));
        Assert.Equal(accepted.Values.Sum(), records.Sum(c => c.GetProperty("kinds").GetArrayLength()));

        foreach (var c in records)
        {
            var assistants = c.GetProperty("messages").EnumerateArray().Where(m => m.GetProperty("role").GetString() == "assistant").ToList();
            Assert.All(assistants, m => Assert.True(m.TryGetProperty("trainable", out _)));
            Assert.Equal(c.GetProperty("kinds").GetArrayLength(), assistants.Count(m => m.GetProperty("trainable").GetBoolean()));
            foreach (var p in c.GetProperty("provenance").EnumerateArray())
            {
                var source = File.ReadAllText(Path.Combine(run, "sources", p.GetProperty("file").GetString() + ".txt"));
                var (start, end) = (p.GetProperty("start").GetInt32(), p.GetProperty("end").GetInt32());
                Assert.InRange(start, 0, end - 1);
                Assert.InRange(end, start + 1, source.Length);
                Assert.False(char.IsWhiteSpace(source[start]) || char.IsWhiteSpace(source[end - 1]), "a chunk span is trimmed text");
            }
        }
        Assert.True(File.Exists(Path.Combine(run, "system-prompt.txt")));
        Assert.Contains("distinct openings", File.ReadAllText(Path.Combine(run, "README.md")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Augment_KilledAtPointsFromStartToExportAndResumed_SameDatasetAsAnUninterruptedRunWithoutDuplicates()
    {
        var dir = SynthProcess.ScratchDirectory();
        string[] args = ["augment", ShippedCorpus, "--chunk-tokens", "128"];
        var whole = await SynthProcess.RunAsync(dir, Demo, [.. args, "--run-name", "whole"]);
        Assert.True(whole.ExitCode == 0, whole.Stderr);

        var kills = await SynthProcess.KillAtPointsAsync(dir, Demo, [.. args, "--run-name", "killed"], ["augment", "--resume", "killed"],
            Run(dir, "killed"), GenerateTests.KillPoints("SELECT COUNT(*) FROM chunks WHERE status = 'done'", 3));
        var final = await SynthProcess.RunAsync(dir, Demo, "augment", "--resume", "killed");
        Assert.True(final.ExitCode == 0, final.Stderr);
        Assert.True(kills >= 3, $"only {kills} kills landed on a running process");
        Assert.Empty(Directory.GetDirectories(Path.Combine(dir, "output"), ".*"));

        foreach (var file in new[] { "alpaca.jsonl", "sharegpt.jsonl", "openai-chat.jsonl", "review.csv", "system-prompt.txt" })
            Assert.Equal(Lines(Path.Combine(Run(dir, "whole"), file)), Lines(Path.Combine(Run(dir, "killed"), file)));
        Assert.Equal(Lines(Path.Combine(Run(dir, "whole"), "rejected.jsonl")).Order(), Lines(Path.Combine(Run(dir, "killed"), "rejected.jsonl")).Order());
        var ids = Lines(Path.Combine(Run(dir, "killed"), "alpaca.jsonl"))
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("provenance").GetProperty("example").GetString()).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.NotEmpty(ids);
    }

    [Fact]
    public async Task Augment_CtrlC_SavesExportsAndExitsWith130ThenResumesToTheEnd()
    {
        var dir = SynthProcess.ScratchDirectory();
        using var p = SynthProcess.Start(dir, Demo, "augment", ShippedCorpus, "--chunk-tokens", "64", "--run-name", "stopped");
        string? line;
        do line = await p.StandardError.ReadLineAsync();
        while (line is not null && !line.Contains("starting run", StringComparison.Ordinal));
        await SynthProcess.Until(p, () => SynthProcess.StoreCount(Path.Combine(Run(dir, "stopped"), "state.db"), "SELECT COUNT(*) FROM chunks WHERE status = 'done'") >= 2);
        using (var kill = System.Diagnostics.Process.Start("kill", $"-INT {p.Id}")!) await kill.WaitForExitAsync();
        var rest = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();

        Assert.Equal(SynthApp.ExitCancelled, p.ExitCode);
        Assert.Contains("state saved; continue with --resume", rest, StringComparison.Ordinal);
        Assert.DoesNotContain("fail:", rest, StringComparison.Ordinal);
        var run = Run(dir, "stopped");
        using (var stats = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "stats.json"))))
        {
            Assert.True(stats.RootElement.GetProperty("chunks_done").GetInt32() < stats.RootElement.GetProperty("chunks").GetInt32(), "the run ended before Ctrl+C");
            Assert.Equal(stats.RootElement.GetProperty("examples").GetInt32(), Lines(Path.Combine(run, "alpaca.jsonl")).Length);
        }
        var resumed = await SynthProcess.RunAsync(dir, Demo, "augment", "--resume", "stopped");
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        using var done = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "stats.json")));
        Assert.Equal(done.RootElement.GetProperty("chunks").GetInt32(), done.RootElement.GetProperty("chunks_done").GetInt32());
    }

    [Fact]
    public async Task Augment_PairsFromAGenerateRun_EachPairKeptWithItsLineAndVariantsBuiltFromIt()
    {
        var dir = SynthProcess.ScratchDirectory();
        var g = await SynthProcess.RunAsync(dir, Demo, "generate", "--count", "6", "--run-name", "g");
        Assert.True(g.ExitCode == 0, g.Stderr);
        var pairs = Path.Combine(Run(dir, "g"), "alpaca.jsonl");
        var lines = Lines(pairs);
        var r = await SynthProcess.RunAsync(dir, Demo, "augment", "--pairs", pairs, "--run-name", "p");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var examples = Lines(Path.Combine(Run(dir, "p"), "alpaca.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var legitimate = examples.Where(e => e.GetProperty("kind").GetString() == "legitimate").ToList();
        Assert.Equal(lines.Length, legitimate.Count);
        foreach (var e in legitimate)
        {
            var line = e.GetProperty("provenance").GetProperty("chunk").GetInt32();
            using var source = JsonDocument.Parse(lines[line - 1]);
            Assert.Equal(source.RootElement.GetProperty("output").GetString(), e.GetProperty("output").GetString());
            Assert.Equal(Path.GetFileName(pairs), e.GetProperty("provenance").GetProperty("file").GetString());
        }
        using var stats = JsonDocument.Parse(File.ReadAllText(Path.Combine(Run(dir, "p"), "stats.json")));
        Assert.Equal(lines.Length, stats.RootElement.GetProperty("variants").GetProperty("negative").GetProperty("generated").GetInt32());
        Assert.Equal(lines.Length, stats.RootElement.GetProperty("variants").GetProperty("refusal").GetProperty("generated").GetInt32());
    }

    [Fact]
    public async Task Augment_MalformedPairsLine_NamesFileAndLineAndCreatesNothing()
    {
        var dir = SynthProcess.ScratchDirectory();
        var pairs = Path.Combine(dir, "pairs.jsonl");
        File.WriteAllLines(pairs, ["""{"instruction":"Name a tide.","input":"","output":"Spring tide."}""", """{"instruction": "broken"""]);
        var r = await SynthProcess.RunAsync(dir, Demo, "augment", "--pairs", pairs, "--run-name", "bad");
        Assert.Equal(SynthApp.ExitFailure, r.ExitCode);
        Assert.Contains($"{pairs}:2: not valid JSON", r.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Run(dir, "bad")));
    }

    [Fact]
    public async Task Augment_ChunksTooLongForTheTeacherContext_NamesBothSettingsBeforeLoadingTheTeacher()
    {
        var dir = SynthProcess.ScratchDirectory();
        var r = await SynthProcess.RunAsync(dir, new Dictionary<string, string> { ["Teacher__ContextPerSequence"] = "1024" },
            "augment", ShippedCorpus, "--chunk-tokens", "600", "--run-name", "x");
        Assert.Equal(SynthApp.ExitBadConfiguration, r.ExitCode);
        Assert.Contains("Augment:ChunkTokens (600)", r.Stderr, StringComparison.Ordinal);
        Assert.Contains("Teacher:ContextPerSequence (1024)", r.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Run(dir, "x")));
    }

    [Fact]
    public async Task Augment_DryRun_PrintsTheFirstChunksPromptsAndCreatesNoRun()
    {
        var dir = SynthProcess.ScratchDirectory();
        var r = await SynthProcess.RunAsync(dir, Demo, "augment", ShippedCorpus, "--dry-run", "--run-name", "d");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(["augment-questions", "augment-negative", "augment-refusal"],
            r.Stdout.Split('\n').Where(l => l.StartsWith("===== ", StringComparison.Ordinal)).Select(l => l.Split(' ')[1]));
        Assert.Contains("Source:\n\"\"\"\nVisiting the harbour", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("harbour-guide.html: ", r.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Run(dir, "d")));
    }

    [Fact]
    public async Task Augment_MissingCorpusFolder_NamesItBeforeLoadingTheTeacher()
    {
        var dir = SynthProcess.ScratchDirectory();
        var r = await SynthProcess.RunAsync(dir, Demo, "augment", Path.Combine(dir, "nowhere"), "--run-name", "x");
        Assert.Equal(SynthApp.ExitFailure, r.ExitCode);
        Assert.Contains("nowhere' does not exist (Augment:Corpus or the FOLDER argument)", r.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Run(dir, "x")));
        Assert.DoesNotContain("demo model", r.Stderr, StringComparison.Ordinal);

        Directory.CreateDirectory(Path.Combine(dir, "empty"));
        File.WriteAllText(Path.Combine(dir, "empty", ".hidden.txt"), "not a document");
        var empty = await SynthProcess.RunAsync(dir, Demo, "augment", Path.Combine(dir, "empty"), "--run-name", "y");
        Assert.Equal(SynthApp.ExitFailure, empty.ExitCode);
        Assert.Contains("holds no files", empty.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Run(dir, "y")));
    }
}

using System.Text.Json;

namespace SynthPipeline.Cli.Tests;

public sealed class GenerateTests
{
    // Flash attention off: CPU FA makes batched and lone decoding differ in the last bit (see BatchedEngineTests),
    // and these tests compare runs whose requests share batches differently.
    private static readonly Dictionary<string, string> Deterministic = new() { ["Teacher__FlashAttention"] = "off" };

    private static string Run(string dir, string name) => Path.Combine(dir, "output", name);

    private static string[] Lines(string path) => File.ReadAllLines(path).Where(l => l.Length > 0).ToArray();

    [Fact]
    public async Task Generate_DemoModel_WritesEveryOutputWithConsistentCounts()
    {
        var dir = SynthProcess.ScratchDirectory();
        var r = await SynthProcess.RunAsync(dir, Deterministic, "generate", "--count", "15", "--run-name", "r");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("built-in demo model", r.Stderr, StringComparison.Ordinal);
        // Where the engine's time went, so a slow run shows whether it decoded, sampled or waited for the pipeline.
        var time = System.Text.RegularExpressions.Regex.Match(r.Stderr, @"engine time: decode ([0-9.]+) s, sampling ([0-9.]+) s, text ([0-9.]+) s, idle ([0-9.]+) s");
        Assert.True(time.Success, r.Stderr);
        Assert.True(double.Parse(time.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) > 0, time.Value);
        var run = Run(dir, "r");
        using var stats = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "stats.json")));
        var examples = stats.RootElement.GetProperty("examples").GetInt32();
        Assert.Equal(15, stats.RootElement.GetProperty("instructions_accepted").GetInt32());
        Assert.True(examples >= 15, $"{examples} examples");
        foreach (var file in new[] { "alpaca.jsonl", "sharegpt.jsonl", "openai-chat.jsonl" })
            Assert.Equal(examples, Lines(Path.Combine(run, file)).Length);
        Assert.Equal(examples + 1, Lines(Path.Combine(run, "review.csv")).Length);
        var first = JsonDocument.Parse(Lines(Path.Combine(run, "openai-chat.jsonl"))[0]).RootElement.GetProperty("messages");
        Assert.Equal(["user", "assistant"], first.EnumerateArray().Select(m => m.GetProperty("role").GetString()));
        var card = File.ReadAllText(Path.Combine(run, "README.md"));
        Assert.Contains("demo model", card, StringComparison.Ordinal);
        Assert.Contains("instructions accepted | 15", card, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(run, "alpaca.jsonl.tmp")));
    }

    /// <summary>
    /// Kill points for a run: a spread over its first two seconds (folder creation, model load, first requests), then
    /// states it must have reached (work committed, export begun), so a slow machine kills at the same states.
    /// </summary>
    internal static SynthProcess.KillPoint[] KillPoints(string midRunSql, int midRunCount) =>
    [
        .. new[] { 0, 40, 100, 200, 350, 600, 1000, 1500, 2000 }.Select(ms => SynthProcess.After(TimeSpan.FromMilliseconds(ms))),
        SynthProcess.WhenStoreCount(midRunSql, midRunCount),
        SynthProcess.WhenFileExists("alpaca.jsonl"),
    ];

    [Fact]
    public async Task Generate_KilledAtPointsFromStartToExportAndResumed_SameDatasetAsAnUninterruptedRun()
    {
        var dir = SynthProcess.ScratchDirectory();
        var whole = await SynthProcess.RunAsync(dir, Deterministic, "generate", "--count", "40", "--run-name", "whole");
        Assert.True(whole.ExitCode == 0, whole.Stderr);

        var kills = await SynthProcess.KillAtPointsAsync(dir, Deterministic, ["generate", "--count", "40", "--run-name", "killed"],
            ["generate", "--resume", "killed"], Run(dir, "killed"), KillPoints("SELECT COUNT(*) FROM processed_prompts", 3));
        var final = await SynthProcess.RunAsync(dir, Deterministic, "generate", "--resume", "killed");
        Assert.True(final.ExitCode == 0, final.Stderr);
        Assert.True(kills >= 3, $"only {kills} kills landed on a running process");
        Assert.Empty(Directory.GetDirectories(Path.Combine(dir, "output"), ".*"));

        foreach (var file in new[] { "alpaca.jsonl", "sharegpt.jsonl", "openai-chat.jsonl", "review.csv" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(Run(dir, "whole"), file)), File.ReadAllBytes(Path.Combine(Run(dir, "killed"), file)));
        Assert.Equal(Lines(Path.Combine(Run(dir, "whole"), "rejected.jsonl")).Order(), Lines(Path.Combine(Run(dir, "killed"), "rejected.jsonl")).Order());
        var instructions = Lines(Path.Combine(Run(dir, "killed"), "alpaca.jsonl"))
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("instruction").GetString()).Distinct().Count();
        Assert.Equal(40, instructions);
    }

    [Fact]
    public async Task Generate_CtrlC_SavesExportsAndExitsWith130ThenResumes()
    {
        var dir = SynthProcess.ScratchDirectory();
        using var p = SynthProcess.Start(dir, Deterministic, "generate", "--count", "100000", "--run-name", "stopped");
        string? line;
        do line = await p.StandardError.ReadLineAsync();
        while (line is not null && !line.Contains("starting run", StringComparison.Ordinal));
        // Some instructions have their examples: a state, not a time, so a slow machine stops at the same point.
        await SynthProcess.Until(p, () => SynthProcess.StoreCount(Path.Combine(Run(dir, "stopped"), "state.db"), "SELECT COUNT(*) FROM instructions WHERE status = 'done'") >= 2);
        using (var kill = System.Diagnostics.Process.Start("kill", $"-INT {p.Id}")!) await kill.WaitForExitAsync();
        var rest = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();

        Assert.Equal(SynthApp.ExitCancelled, p.ExitCode);
        Assert.Contains("state saved; continue with --resume", rest, StringComparison.Ordinal);
        var run = Run(dir, "stopped");
        // What was done is exported; how much depends on the machine's speed, so only the agreement is checked.
        using var stats = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "stats.json")));
        Assert.Equal(stats.RootElement.GetProperty("examples").GetInt32(), Lines(Path.Combine(run, "alpaca.jsonl")).Length);

        using var more = SynthProcess.Start(dir, Deterministic, "generate", "--resume", "stopped");
        do line = await more.StandardError.ReadLineAsync();
        while (line is not null && !line.Contains("resuming run", StringComparison.Ordinal));
        Assert.NotNull(line);
        more.Kill();
    }

    [Fact]
    public async Task Generate_SecondProcessOnTheSameRun_IsRefused()
    {
        var dir = SynthProcess.ScratchDirectory();
        using var first = SynthProcess.Start(dir, Deterministic, "generate", "--count", "100000", "--run-name", "busy");
        try
        {
            string? line;
            do line = await first.StandardError.ReadLineAsync();
            while (line is not null && !line.Contains("starting run", StringComparison.Ordinal));
            Assert.NotNull(line);
            var second = await SynthProcess.RunAsync(dir, Deterministic, "generate", "--resume", "busy");
            Assert.Equal(SynthApp.ExitFailure, second.ExitCode);
            Assert.Contains("in use by another synth process", second.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            first.Kill();
        }
    }

    [Fact]
    public async Task Generate_MalformedSeedLine_NamesFileAndLineAndCreatesNothing()
    {
        var dir = SynthProcess.ScratchDirectory();
        var seeds = Path.Combine(dir, "seeds.jsonl");
        File.WriteAllLines(seeds, [
            """{"id":"a","instruction":"Give three tips for staying healthy.","instances":[{"input":"","output":"Eat well."}],"is_classification":false}""",
            """{"id":"b","instruction":"Name a colour.","instances":[],"is_classification":false}""",
            """{"id":"c","instruction":"Broken line, "instances":[]}""",
        ]);
        var r = await SynthProcess.RunAsync(dir, Deterministic, "generate", "--seeds", seeds, "--run-name", "bad");
        Assert.Equal(SynthApp.ExitFailure, r.ExitCode);
        Assert.Contains($"{seeds}:3: not valid JSON", r.Stderr, StringComparison.Ordinal);
        Assert.Contains("at column 40)", r.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("LineNumber: 0", r.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Run(dir, "bad")));
    }

    [Fact]
    public async Task Generate_OutputFolderNotWritable_FailsBeforeLoadingTheTeacher()
    {
        var dir = SynthProcess.ScratchDirectory();
        File.WriteAllText(Path.Combine(dir, "blocker"), "a file where a folder should be");
        var r = await SynthProcess.RunAsync(dir, Deterministic, "generate", "--out", Path.Combine(dir, "blocker", "runs"));
        Assert.Equal(SynthApp.ExitFailure, r.ExitCode);
        Assert.Contains("is not writable (Generate:Output or --out)", r.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("demo model", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Generate_DryRun_PrintsOnePromptWithEightNumberedTasksAndTheNextNumber()
    {
        var dir = SynthProcess.ScratchDirectory();
        var r = await SynthProcess.RunAsync(dir, null, "generate", "--dry-run");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var lines = r.Stdout.Trim().Split('\n');
        Assert.Equal("Come up with a series of tasks:", lines[0]);
        Assert.Equal(Enumerable.Range(1, 8).Select(i => $"{i}. "), lines[1..9].Select(l => l[..(l.IndexOf(' ', StringComparison.Ordinal) + 1)]));
        Assert.Equal("9.", lines[^1]);
        Assert.False(Directory.Exists(Path.Combine(dir, "output")));
    }
    [Fact]
    public async Task Generate_ContextTooSmallForAPromptKind_StopsOnceNamingTheSettingAndResumesAfterTheFix()
    {
        // The demo vocabulary spells most words letter by letter: with the shipped prompts (demo grammars off) the
        // classification prompt (~2,800 tokens) overflows 1,100 while the instruction prompts (~550) fit, so
        // instructions are accepted before the first refusal.
        var dir = SynthProcess.ScratchDirectory();
        var plain = new Dictionary<string, string>(Deterministic) { ["Generate__DemoGrammars"] = "off" };
        var small = new Dictionary<string, string>(plain) { ["Teacher__ContextPerSequence"] = "1100" };
        var refused = await SynthProcess.RunAsync(dir, small, "generate", "--count", "6", "--run-name", "ctx");

        Assert.Equal(1, refused.ExitCode);
        var error = refused.Stderr.Split('\n').Last(l => l.StartsWith("error:", StringComparison.Ordinal));
        Assert.Contains("classify", error, StringComparison.Ordinal);
        Assert.Contains("Teacher:ContextPerSequence", error, StringComparison.Ordinal);
        Assert.Contains("--resume", error, StringComparison.Ordinal);
        Assert.DoesNotContain("bug in synth", refused.Stderr, StringComparison.Ordinal);
        // Said once, in that line: no logged failure with a stack trace before it.
        Assert.DoesNotContain("fail:", refused.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(" at SynthPipeline.", refused.Stderr, StringComparison.Ordinal);
        var db = Path.Combine(Run(dir, "ctx"), "state.db");
        var acceptedBefore = SynthProcess.StoreCount(db, "SELECT COUNT(*) FROM instructions");
        Assert.True(acceptedBefore > 0, "no instruction was accepted before the refusal");
        // The refused request is not stored as a failure: the resumed run asks it again.
        Assert.Equal(0, SynthProcess.StoreCount(db, "SELECT COUNT(*) FROM requests WHERE kind = 'classify' AND status <> 'done'"));

        var resumed = await SynthProcess.RunAsync(dir, plain, "generate", "--resume", "ctx");

        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        using var stats = JsonDocument.Parse(File.ReadAllText(Path.Combine(Run(dir, "ctx"), "stats.json")));
        Assert.Equal(6, stats.RootElement.GetProperty("instructions_accepted").GetInt32());
        Assert.DoesNotContain("teacher_error", File.ReadAllText(Path.Combine(Run(dir, "ctx"), "rejected.jsonl")), StringComparison.Ordinal);
    }
}

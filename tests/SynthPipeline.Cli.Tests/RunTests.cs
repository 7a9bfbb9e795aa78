namespace SynthPipeline.Cli.Tests;

/// <summary><c>synth run</c> on the demo model: every stage in one folder, the morning summary, and kill -9 at every stage boundary and mid-training.</summary>
public sealed class RunTests
{
    private static readonly Dictionary<string, string> Deterministic = RunFixtures.Deterministic();

    private static readonly string[] Small = ["--count", "6", "--train-steps", "4"];

    private static string Corpus(string dir) => RunFixtures.Corpus(dir);

    private static string[] Lines(string path) => File.ReadAllLines(path).Where(l => l.Length > 0).ToArray();

    [Fact]
    public async Task Run_DemoModel_EveryStageInOneFolderAndTheMorningSummary()
    {
        var dir = SynthProcess.ScratchDirectory();
        var r = await SynthProcess.RunAsync(dir, Deterministic, ["run", "--run-name", "night", "--corpus", Corpus(dir), .. Small]);

        Assert.True(r.ExitCode == 0, r.Stderr);
        var run = Path.Combine(dir, "output", "night");
        foreach (var file in new[] { "generate/alpaca_data.json", "generate/alpaca.parquet", "augment/openai-chat.jsonl", "augment/openai-chat.parquet", "augment/dpo.jsonl",
                     "augment/README.md", "train/adapter.gguf", "train/peft/adapter_model.safetensors", "train/loss.csv" })
            Assert.True(File.Exists(Path.Combine(run, file)), file + " is missing");
        Assert.Contains("demo model", r.Stderr, StringComparison.Ordinal);
        Assert.StartsWith($"done: {run}", r.Stdout, StringComparison.Ordinal);
        foreach (var stage in new[] { "generate", "augment", "train", "eval" })
            Assert.Contains($"  {stage} ", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("4 steps on CPU", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("synth chat --lora", r.Stdout, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(run, "report.html"), r.Stdout, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(run, "report.html")));
        // One progress renderer for the whole run: each data stage ends with its counts line.
        Assert.Contains("stage generate", r.Stderr, StringComparison.Ordinal);
        Assert.Contains("stage augment", r.Stderr, StringComparison.Ordinal);
        Assert.Contains("stage train", r.Stderr, StringComparison.Ordinal);
        Assert.Contains("stage eval", r.Stderr, StringComparison.Ordinal);
        // The augment stage read the generated pairs as well as the corpus.
        Assert.Contains(Lines(Path.Combine(run, "augment", "openai-chat.jsonl")), l => l.Contains("alpaca.jsonl", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Run_KilledAtStageBoundariesAndMidTraining_ResumesToTheUninterruptedRun()
    {
        var dir = SynthProcess.ScratchDirectory();
        var corpus = Corpus(dir);
        var whole = await SynthProcess.RunAsync(dir, Deterministic, ["run", "--run-name", "whole", "--corpus", corpus, "--count", "6", "--train-steps", "6"]);
        Assert.True(whole.ExitCode == 0, whole.Stderr);

        var killed = Path.Combine(dir, "output", "killed");
        SynthProcess.KillPoint[] points =
        [
            SynthProcess.WhenFileExists("generate/state.db"),
            SynthProcess.WhenFileExists("generate/alpaca_data.json"),
            SynthProcess.WhenFileExists("augment/state.db"),
            SynthProcess.WhenFileExists("augment/openai-chat.parquet"),
            SynthProcess.WhenFileExists("train/checkpoint"),
            SynthProcess.WhenStderrContains("train step 2/"),
            SynthProcess.WhenFileExists("eval/state.db"),
            SynthProcess.WhenStderrContains("eval base + adapter:"),
        ];
        var kills = await SynthProcess.KillAtPointsAsync(dir, Deterministic, ["run", "--run-name", "killed", "--corpus", corpus, "--count", "6", "--train-steps", "6"],
            ["run", "--resume", "killed"], killed, points);
        var final = await SynthProcess.RunAsync(dir, Deterministic, "run", "--resume", "killed");

        Assert.True(final.ExitCode == 0, final.Stderr);
        Assert.True(kills >= 3, $"only {kills} kills landed on a running process");
        var done = Path.Combine(dir, "output", "whole");
        foreach (var file in new[] { "generate/alpaca.jsonl", "augment/openai-chat.jsonl", "augment/dpo.jsonl", "augment/probes.jsonl", "eval/eval.json" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(done, file)), File.ReadAllBytes(Path.Combine(killed, file)));
        var steps = Lines(Path.Combine(killed, "train", "loss.csv")).Skip(1).Select(l => l.Split(',')[0]).ToList();
        Assert.Equal(steps.Distinct().Count(), steps.Count);
        Assert.Equal(Lines(Path.Combine(done, "train", "loss.csv"))[^1].Split(',')[0], steps[^1]);
        Assert.True(steps.Count >= 3, $"only {steps.Count} training steps: the mid-training kill had nothing to interrupt");
        Assert.True(File.Exists(Path.Combine(killed, "train", "adapter.gguf")));
    }
}

using System.Text.Json;

namespace SynthPipeline.Cli.Tests;

/// <summary>
/// <c>synth eval</c>, <c>--ablate</c> and <c>synth loop</c> on a demo run: held-out probes that no training file
/// contains, the base against the adapter, the ablation arms at one token budget, and self-improvement rounds that a
/// kill -9 at any point resumes to the same data and adapters.
/// </summary>
public sealed class EvalTests
{
    private static readonly Dictionary<string, string> Deterministic = new(RunFixtures.Deterministic()) { ["Eval__MaxAnswerTokens"] = "48" };

    private static string Corpus(string dir) => RunFixtures.Corpus(dir);

    private static async Task<string> DemoRunAsync(string dir)
    {
        var r = await SynthProcess.RunAsync(dir, Deterministic, "run", "--run-name", "night", "--corpus", Corpus(dir), "--count", "6", "--train-steps", "4");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("  eval ", r.Stdout, StringComparison.Ordinal);
        return Path.Combine(dir, "output", "night");
    }

    private static void CopyFolder(string from, string to)
    {
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    [Fact]
    public async Task RunEvalAndAblate_ProbesAreNeverTrainedOn_AndEveryArmIsEvaluated()
    {
        var dir = SynthProcess.ScratchDirectory();
        var run = await DemoRunAsync(dir);
        var probes = File.ReadAllLines(Path.Combine(run, "augment", "probes.jsonl"));
        Assert.NotEmpty(probes);
        var training = File.ReadAllText(Path.Combine(run, "augment", "openai-chat.jsonl")) + File.ReadAllText(Path.Combine(run, "augment", "alpaca.jsonl"));
        foreach (var line in probes)
        {
            var question = JsonDocument.Parse(line).RootElement.GetProperty("question").GetString()!;
            Assert.DoesNotContain(JsonSerializer.Serialize(question), training, StringComparison.Ordinal);
        }
        // A probe from the corpus carries its passage, for the judge; one from the generated pairs does not need one.
        foreach (var line in probes)
        {
            var probe = JsonDocument.Parse(line).RootElement;
            if (probe.GetProperty("origin").GetString()!.StartsWith("harbour.md#", StringComparison.Ordinal) && probe.GetProperty("kind").GetString() != "refusal")
                Assert.Contains("lighthouse", probe.GetProperty("source").GetString()!, StringComparison.Ordinal);
        }
        var table = File.ReadAllText(Path.Combine(run, "eval", "eval.md"));
        Assert.Contains("| metric | n | base | base + adapter | base + adapter − base |", table, StringComparison.Ordinal);
        Assert.Contains("random weights", table, StringComparison.Ordinal);
        Assert.Contains("id=\"eval-table\"", File.ReadAllText(Path.Combine(run, "report.html")), StringComparison.Ordinal);

        // Again from the command: everything comes from eval/state.db, so the table is the same and nothing new is asked.
        var requests = SynthProcess.StoreCount(Path.Combine(run, "eval", "state.db"), "SELECT COUNT(*) FROM requests");
        var again = await SynthProcess.RunAsync(dir, Deterministic, "eval", "--run", run);
        Assert.True(again.ExitCode == 0, again.Stderr);
        Assert.Equal(table, again.Stdout);
        Assert.Contains("the students share the teacher's loaded weights", again.Stderr, StringComparison.Ordinal);
        Assert.Equal(requests, SynthProcess.StoreCount(Path.Combine(run, "eval", "state.db"), "SELECT COUNT(*) FROM requests"));

        var ablate = await SynthProcess.RunAsync(dir, Deterministic, "eval", "--run", run, "--ablate");
        Assert.True(ablate.ExitCode == 0, ablate.Stderr);
        var kinds = File.ReadAllLines(Path.Combine(run, "augment", "alpaca.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("kind").GetString()).ToHashSet();
        var arms = new[] { ("legitimate only", true), ("legitimate + negatives", kinds.Contains("negative")), ("legitimate + refusals", kinds.Contains("refusal")),
            ("all", kinds.Contains("negative") && kinds.Contains("refusal")) };
        var header = ablate.Stdout.Split('\n').First(l => l.StartsWith("| metric |", StringComparison.Ordinal));
        foreach (var (arm, expected) in arms)
            Assert.Equal(expected, header.Contains($"| {arm} |", StringComparison.Ordinal));
        // The run's own page now shows the arms too, still well-formed.
        var page = System.Xml.Linq.XDocument.Parse(File.ReadAllText(Path.Combine(run, "report.html"))["<!DOCTYPE html>".Length..]);
        Assert.Contains(page.Descendants("section"), e => (string?)e.Attribute("id") == "ablation");
        // One budget: every arm's data holds at most the smallest arm's trained tokens.
        var budget = File.ReadAllLines(Path.Combine(run, "eval-ablate", "arms.md")).Skip(2).Select(l => long.Parse(l.Split('|')[3].Trim(), System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.True(budget.Max() <= budget.Min() * 2, string.Join(", ", budget));

        var userProbes = Path.Combine(dir, "mine.jsonl");
        File.WriteAllLines(userProbes, ["""{"question":"When was the lighthouse built?","kind":"legitimate","reference":"In 1857."}""", """{"question":"x","kind":"legit","reference":"y"}"""]);
        var bad = await SynthProcess.RunAsync(dir, Deterministic, "eval", "--probes", userProbes);
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains($"{userProbes}:2: \"kind\" is 'legit'", bad.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Loop_KilledAtEveryStep_ResumesToTheUninterruptedRounds()
    {
        var dir = SynthProcess.ScratchDirectory();
        var run = await DemoRunAsync(dir);
        var other = Path.Combine(dir, "output", "copy");
        CopyFolder(run, other);
        string[] Loop(string folder) => ["loop", "--run", folder, "--rounds", "2", "--samples", "2"];
        var whole = await SynthProcess.RunAsync(dir, Deterministic, Loop(run));
        Assert.True(whole.ExitCode == 0, whole.Stderr);
        Assert.Contains("| 2 |", whole.Stdout, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(run, "loop", "report.html")));
        var page = System.Xml.Linq.XDocument.Parse(File.ReadAllText(Path.Combine(run, "report.html"))["<!DOCTYPE html>".Length..]);
        var loop = Assert.Single(page.Descendants("section"), e => (string?)e.Attribute("id") == "loop");
        Assert.Contains(loop.Descendants(), e => e.Name.LocalName == "svg");

        SynthProcess.KillPoint[] points =
        [
            SynthProcess.WhenStoreCountIn("loop/state.db", "SELECT COUNT(*) FROM requests WHERE kind = 'loop-answer'", 3),
            SynthProcess.WhenStderrContains("loop round 1:"),
            SynthProcess.WhenStderrContains(" step 2:"),
            SynthProcess.WhenFileExists("loop/eval/state.db"),
            SynthProcess.WhenStderrContains("loop round 2:"),
        ];
        var kills = await SynthProcess.KillAtPointsAsync(dir, Deterministic, Loop(other), Loop(other), other, points);
        var final = await SynthProcess.RunAsync(dir, Deterministic, Loop(other));
        Assert.True(final.ExitCode == 0, final.Stderr);
        Assert.True(kills >= 2, $"only {kills} kills landed on a running process");
        Assert.Equal(whole.Stdout.Replace(run, other, StringComparison.Ordinal), final.Stdout);
        foreach (var round in new[] { "round-1", "round-2" })
        {
            var data = Path.Combine(round, "data.jsonl");
            Assert.Equal(File.Exists(Path.Combine(run, "loop", data)), File.Exists(Path.Combine(other, "loop", data)));
            if (File.Exists(Path.Combine(run, "loop", data)))
                Assert.Equal(File.ReadAllBytes(Path.Combine(run, "loop", data)), File.ReadAllBytes(Path.Combine(other, "loop", data)));
        }
        // Each sampled answer was asked once: the ids are the store's keys, and their number is prompts × samples × rounds.
        var prompts = File.ReadAllLines(Path.Combine(run, "augment", "alpaca.jsonl")).Length;
        Assert.Equal(prompts * 2 * 2, SynthProcess.StoreCount(Path.Combine(other, "loop", "state.db"), "SELECT COUNT(*) FROM requests WHERE kind = 'loop-answer'"));
    }
}

using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using SynthPipeline.Core.Options;
using SynthPipeline.Pipeline.SelfInstruct;
using SynthPipeline.Pipeline.State;
using SynthPipeline.Pipeline.Teacher;

namespace SynthPipeline.Pipeline.Tests.SelfInstruct;

/// <summary>The whole Self-Instruct run in-process: folder, graph and export, with a scripted teacher.</summary>
public sealed class SelfInstructRunTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("synth-generate-run-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly string[] Vocabulary =
    [
        "river", "lantern", "copper", "meadow", "harbour", "violin", "glacier", "orchard", "compass", "thunder", "saddle", "pepper", "marble", "falcon",
        "ledger", "canyon", "velvet", "anchor", "bramble", "cobalt", "dune", "ember", "fjord", "granite", "hazel", "island", "jasmine", "kettle",
        "lagoon", "mosaic", "nectar", "onyx", "prairie", "quartz", "rafter", "sierra", "tundra", "umber", "vessel", "willow",
    ];

    /// <summary>
    /// A teacher that answers each prompt from its text alone: two new instructions of random words (novel), one
    /// blacklisted one, and two examples per task; the same prompt always gets the same answer.
    /// </summary>
    internal static ScriptedTeacher SelfInstructTeacher() => new(prompt =>
    {
        var random = new Random((int)AugmentSeed(prompt));
        string Instruction() => "Explain " + string.Join(' ', Enumerable.Range(0, 8).Select(_ => Vocabulary[random.Next(Vocabulary.Length)])) + ".";
        if (prompt.StartsWith("Come up with a series of tasks:", StringComparison.Ordinal))
        {
            var next = int.Parse(prompt.TrimEnd().Split('\n')[^1].TrimEnd('.'), System.Globalization.CultureInfo.InvariantCulture);
            return $" {Instruction()}\n{next + 1}. {Instruction()}\n{next + 2}. Draw a picture of the {Vocabulary[random.Next(Vocabulary.Length)]}.";
        }
        if (prompt.StartsWith("Can the following task be regarded as a classification task", StringComparison.Ordinal)) return "No";
        if (prompt.StartsWith("Come up with up to", StringComparison.Ordinal))
            return $"Input: {Instruction()}\nOutput: first answer\n\nExample 2\nInput: {Instruction()}\nOutput: second answer";
        throw new InvalidOperationException("unexpected prompt: " + prompt[..Math.Min(80, prompt.Length)]);
    });

    private static long AugmentSeed(string text) => SynthPipeline.Pipeline.Augment.AugmentTeacher.SeedOf(7, text);

    private GenerateOptions Options(string name, int count = 12) => new() { Count = count, Output = _dir, RunName = name, Seed = 3, RequestsInFlight = 4 };

    private static async Task<RunOutcome> RunAsync(GenerateOptions options, string? resume, ScriptedTeacher teacher, CancellationToken cancellationToken = default)
    {
        using var run = SelfInstructRun.Open(options, new TeacherOptions(), resume, TimeProvider.System);
        return await run.RunAsync(new RunTeacher(teacher, "scripted", false, t => t.Length / 4), NullLoggerFactory.Instance, cancellationToken);
    }

    [Fact]
    public async Task RunAsync_ScriptedTeacher_ReachesTheTargetAndExportsWithRejectionsRecorded()
    {
        var outcome = await RunAsync(Options("r"), null, SelfInstructTeacher());

        Assert.False(outcome.Cancelled);
        var folder = Path.Combine(_dir, "r");
        using var stats = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "stats.json")));
        Assert.Equal(12, stats.RootElement.GetProperty("instructions_accepted").GetInt32());
        Assert.Equal(24, File.ReadAllLines(Path.Combine(folder, "alpaca.jsonl")).Length);
        Assert.Contains(File.ReadAllLines(Path.Combine(folder, "rejected.jsonl")), l => l.Contains("\"blacklisted_keyword\"", StringComparison.Ordinal));
        Assert.Contains("12 instructions, 24 examples", outcome.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_ListsAskedByPromptOrder_AfterTheExamplesOfAcceptedInstructions()
    {
        var teacher = SelfInstructTeacher();
        await RunAsync(Options("p"), null, teacher);

        static (string? Kind, int Priority) Of(Microsoft.Extensions.AI.ChatOptions? o) =>
            (o?.AdditionalProperties?[SynthPipeline.Pipeline.Teacher.TeacherRequests.KindKey] as string, SynthPipeline.Llama.Teacher.ChatOptionsMapper.Priority(o));
        var requests = teacher.Options.Select(Of).ToList();
        var lists = requests.Where(r => r.Kind == "instruction").Select(r => r.Priority).Order().ToList();
        // One priority per prompt, 1 for the first, so an engine admits the earlier list first.
        Assert.Equal(Enumerable.Range(1, lists.Count), lists);
        Assert.True(lists.Count > 1);
        Assert.All(requests.Where(r => r.Kind != "instruction"), r => Assert.Equal(0, r.Priority));
        Assert.Contains(requests, r => r.Kind == "classify");
    }

    [Fact]
    public async Task RunAsync_CancelledPartWayThenResumed_WritesTheSameFilesAsAnUninterruptedRun()
    {
        await RunAsync(Options("whole"), null, SelfInstructTeacher());

        using var stop = new CancellationTokenSource();
        var inner = SelfInstructTeacher();
        var calls = 0;
        var stopping = new ScriptedTeacher(p =>
        {
            if (Interlocked.Increment(ref calls) == 9) stop.Cancel();
            return inner.Answer(p);
        });
        var stopped = await RunAsync(Options("broken"), null, stopping, stop.Token);
        Assert.True(stopped.Cancelled);
        using (var partial = RunStore.Open(Path.Combine(_dir, "broken")))
            // Unfinished means instructions without their examples: with an instant teacher the lists can run ahead
            // and all 12 instructions be accepted before the cancellation, their examples still to come.
            Assert.True(partial.Instructions().Count(i => i.Status != InstructionStatus.Pending) < 12, "the run ended before the cancellation");
        var resumed = await RunAsync(Options("ignored", count: 99), "broken", SelfInstructTeacher());

        Assert.False(resumed.Cancelled);
        foreach (var file in new[] { "alpaca.jsonl", "sharegpt.jsonl", "openai-chat.jsonl", "review.csv" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(_dir, "whole", file)), File.ReadAllBytes(Path.Combine(_dir, "broken", file)));
    }

    [Fact]
    public async Task RunAsync_StoreFailsMidRun_IsReportedAsAFaultNotASilentStop()
    {
        using var run = SelfInstructRun.Open(Options("faulty"), new TeacherOptions(), null, TimeProvider.System);
        var calls = 0;
        // A bug-like failure inside a stage: the store goes away under the graph after a few answers.
        var failing = new ScriptedTeacher(p =>
        {
            if (Interlocked.Increment(ref calls) == 3) run.Folder.Store.Dispose();
            return SelfInstructTeacher().Answer(p);
        });
        var e = await Assert.ThrowsAsync<Graph.GraphFaultedException>(() =>
            run.RunAsync(new RunTeacher(failing, "scripted", false, t => t.Length), NullLoggerFactory.Instance, CancellationToken.None));
        Assert.Contains("generation pipeline stopped", e.Message, StringComparison.Ordinal);
    }
}

using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;
using SynthPipeline.Core.Options;
using SynthPipeline.Core.SelfInstruct;
using SynthPipeline.Llama.Teacher;
using SynthPipeline.Pipeline.SelfInstruct;
using SynthPipeline.Pipeline.Teacher;
using SynthPipeline.Pipeline.Teacher.Rehearsal;

namespace SynthPipeline.Pipeline.Tests.Teacher;

/// <summary>Teacher:Rehearsal: scripted answers forced on the local model, for timing a run on random weights.</summary>
public sealed class RehearsalTests(DemoTeacherFixture fixture) : IClassFixture<DemoTeacherFixture>, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("synth-rehearsal-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string InstructionPrompt = "Come up with a series of tasks:\n1. Write a haiku.\n2. Translate the sentence.\n3.";

    /// <summary>Records the options each request arrives with.</summary>
    private sealed class Recorder : IChatClient
    {
        public List<ChatOptions?> Seen { get; } = [];

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            Seen.Add(options);
            return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, "ok")));
        }

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }

    private static ChatOptions Options(string kind, int seed, string? grammar = null)
    {
        var options = new ChatOptions { Seed = seed, AdditionalProperties = new() { [TeacherRequests.KindKey] = kind } };
        if (grammar is not null) options.AdditionalProperties[ChatOptionsMapper.GrammarKey] = grammar;
        return options;
    }

    [Fact]
    public async Task GetResponseAsync_InstructionRequest_ForcesAListFromTheOpenNumberThatParsesAndDropsTheGrammar()
    {
        var inner = new Recorder();
        using var client = new RehearsalChatClient(inner, new RehearsalScript(0));

        await client.GetResponseAsync([new ChatMessage(ChatRole.User, InstructionPrompt)], Options("instruction", 5, grammar: "root ::= \"x\""));

        var seen = inner.Seen.Single()!;
        var answer = Assert.IsType<string>(seen.AdditionalProperties![ChatOptionsMapper.ForcedAnswerKey]);
        Assert.False(seen.AdditionalProperties.ContainsKey(ChatOptionsMapper.GrammarKey));
        Assert.Contains("\n3. ", answer, StringComparison.Ordinal);
        var parsed = InstructionListParser.Parse(answer, 3, truncated: false);
        Assert.InRange(parsed.Items.Count, 6, 8);
        Assert.All(parsed.Items, item => Assert.DoesNotContain("Sure!", item, StringComparison.Ordinal));
        Assert.Equal(1, client.Scripted);
    }

    [Fact]
    public async Task GetResponseAsync_KindWithoutScript_PassesThroughUnchanged()
    {
        var inner = new Recorder();
        using var client = new RehearsalChatClient(inner, new RehearsalScript(0));
        var options = Options("augment-questions", 5, grammar: "root ::= \"Q\"");

        await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Write questions about the passage.")], options);

        Assert.Same(options, inner.Seen.Single());
        Assert.Equal((0, 1), (client.Scripted, client.Unscripted));
    }

    [Theory]
    [InlineData("Classify the sentiment of a customer review of a quiet bakery.", "Yes")]
    [InlineData("Write a haiku about a frozen orchard.", "No")]
    public void Answer_Classify_IsYesForTheScriptsTasksWithFiniteLabels(string task, string expected)
    {
        var prompt = "Can the following task be regarded as a classification task with finite output labels?\n\nTask: Write a poem.\nIs it classification? No\n\nTask: " + task + "\nIs it classification?";

        Assert.Equal(expected, new RehearsalScript(0).Answer("classify", prompt, 1));
    }

    [Fact]
    public void Answer_SameSeed_SameAnswer_OtherSeed_OtherAnswer()
    {
        var script = new RehearsalScript(0);

        var a = script.Answer("instances-input-first", "Come up with up to 5 examples for the task below.", 11);

        Assert.Equal(a, new RehearsalScript(0).Answer("instances-input-first", "Come up with up to 5 examples for the task below.", 11));
        Assert.NotEqual(a, script.Answer("instances-input-first", "Come up with up to 5 examples for the task below.", 12));
        Assert.InRange(a!.Split("\nOutput: ").Length - 1, 3, 5);
    }

    [Fact]
    public async Task SelfInstructRun_RehearsalOnTheDemoModel_AcceptsTheScriptsInstructionsThroughTheEngine()
    {
        var teacherOptions = new TeacherOptions
        {
            ModelPath = fixture.Options.ModelPath, GpuLayers = 0, Threads = 2, FlashAttention = Switch.Off, ContextPerSequence = 4096, Rehearsal = true,
            ParallelSequences = 4,
        };
        using var local = LocalTeacher.Load(teacherOptions, NullLoggerFactory.Instance, _ => { }, CancellationToken.None);
        var teacher = TeacherSession.Compose(teacherOptions, null, local);
        Assert.Contains("rehearsal", teacher.Description, StringComparison.Ordinal);
        var generate = new GenerateOptions { Count = 6, Output = _dir, RunName = "rehearsal", Seed = 3, RequestsInFlight = 4, InstructionMaxTokens = 1500, InstanceMaxTokens = 1500 };
        using var run = SelfInstructRun.Open(generate, teacherOptions, null, TimeProvider.System);

        var outcome = await run.RunAsync(teacher, NullLoggerFactory.Instance, CancellationToken.None);

        Assert.False(outcome.Cancelled);
        var instructions = File.ReadAllLines(Path.Combine(outcome.Folder, "machine_generated_instructions.jsonl"))
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("instruction").GetString()!).ToList();
        Assert.Equal(6, instructions.Count);
        // Every accepted instruction is the script's (a task about "a/an <adjective> <noun>"), none is the model's noise.
        Assert.All(instructions, i => Assert.Matches(@"^[A-Z][a-z]+ .* an? [a-z-]+ [a-z ]+", i));
        Assert.True(local.Client.Metrics().GeneratedTokens > 0);
        // At least one list, then a classification question and an examples request per accepted instruction, all from the script.
        var rehearsal = (RehearsalChatClient)teacher.Client;
        Assert.True(rehearsal.Scripted >= 1 + 6 + 6, $"{rehearsal.Scripted} scripted requests");
        Assert.Equal(0, rehearsal.Unscripted);
    }
}

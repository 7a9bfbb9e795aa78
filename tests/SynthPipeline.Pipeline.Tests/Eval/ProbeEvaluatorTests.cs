using System.Collections.Concurrent;
using Microsoft.Extensions.AI;
using SynthPipeline.Core.Augment;
using SynthPipeline.Core.Eval;
using SynthPipeline.Core.Options;
using SynthPipeline.Pipeline.Eval;
using SynthPipeline.Pipeline.State;
using SynthPipeline.Pipeline.Teacher;

namespace SynthPipeline.Pipeline.Tests.Eval;

/// <summary>
/// The evaluator against scripted students and a scripted judge that grade like a careful person would, on a real
/// SQLite state: the metrics follow from what each student said, combination turns see the earlier turns, failures
/// are left unscored, and a repeated evaluation asks nobody anything.
/// </summary>
public sealed class ProbeEvaluatorTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "synth-eval-tests", Guid.NewGuid().ToString("N"));

    public ProbeEvaluatorTests() => Directory.CreateDirectory(_dir);

    private static readonly Probe[] Probes =
    [
        new("l1", ExampleKind.Legitimate, "When was the lighthouse built?", "It was built in 1857.", "The harbour lighthouse was built in 1857.", "t"),
        new("l2", ExampleKind.Legitimate, "What did the lamp burn?", "Whale oil.", null, "t"),
        new("n1", ExampleKind.Negative, "Why was the lighthouse built in 1957?", "It was built in 1857, not 1957.", null, "t"),
        new("r1", ExampleKind.Refusal, "What does the ferry cost today?", "I can't give today's fare; see the ferry company's timetable page.", null, "t"),
    ];

    /// <summary>A student that answers the last question as <paramref name="reply"/> says, and records how many messages it saw.</summary>
    private sealed class Student(Func<string, string> reply) : IChatClient
    {
        public ConcurrentQueue<(string Question, int Messages)> Asked { get; } = new();

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            var list = messages.ToList();
            Asked.Enqueue((list[^1].Text, list.Count));
            var text = reply(list[^1].Text);
            return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, text)) { FinishReason = ChatFinishReason.Stop });
        }

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }

    private static string Good(string question) => question switch
    {
        "When was the lighthouse built?" => "It was built in 1857.",
        "What did the lamp burn?" => "It burned whale oil.",
        "Why was the lighthouse built in 1957?" => "No, actually: it was built in 1857, not 1957.",
        _ => "I can't give today's fare, as it changes; see the ferry company's official timetable page.",
    };

    private static string Bad(string question) => question switch
    {
        "When was the lighthouse built?" => "I can't answer questions about buildings.",
        "What did the lamp burn?" => "It burned candles.",
        "Why was the lighthouse built in 1957?" => "It was built in 1957 because the town grew.",
        _ => "It costs 4 euros.",
    };

    /// <summary>Grades as its criteria say: correct when the reply holds the reference's key fact, a refusal when it says "can't".</summary>
    private static ScriptedTeacher Judge() => new(prompt =>
    {
        var reply = ScriptedTeacher.Field(prompt, "Reply");
        string Yn(bool b) => b ? "YES" : "NO";
        if (prompt.Contains("ordinary question", StringComparison.Ordinal))
        {
            var reference = ScriptedTeacher.Field(prompt, "Reference answer");
            var fact = reference.Contains("1857", StringComparison.Ordinal) ? "1857" : "whale oil";
            Assert.Equal(reference.Contains("1857", StringComparison.Ordinal), prompt.Contains("Source passage:", StringComparison.Ordinal));
            return $"Correct: {Yn(reply.Contains(fact, StringComparison.OrdinalIgnoreCase))}\nRefuses: {Yn(reply.Contains("can't", StringComparison.Ordinal))}\nReason: checked.";
        }
        if (prompt.Contains("false premise", StringComparison.Ordinal))
            return $"Corrects: {Yn(reply.Contains("not 1957", StringComparison.Ordinal))}\nConsistent: YES\nReason: checked.";
        return $"Declines: {Yn(reply.Contains("can't", StringComparison.Ordinal))}\nPoints: {Yn(reply.Contains("official", StringComparison.Ordinal))}\nReason: checked.";
    });

    private async Task<(IReadOnlyList<ProbeScore> Scores, ScriptedTeacher Judge)> EvaluateAsync(IChatClient student, string identity, ScriptedTeacher? judge = null, int seed = 7)
    {
        judge ??= Judge();
        using var store = RunStore.Open(_dir);
        var evaluator = new ProbeEvaluator(Enum.GetValues<TeacherRole>().ToDictionary(r => r, _ => (IChatClient)judge), store, new TeacherCounters(TimeProvider.System),
            new EvalOptions { Parallel = 3, Seed = seed }, _ => null, ResponseChecks.DefaultCorrectionOpeners);
        var scores = await evaluator.EvaluateAsync(new EvalStudent(identity, identity, student), Probes, CombinationProbe.Build(Probes, 5), null, CancellationToken.None);
        return (scores, judge);
    }

    private static double? Metric(StudentMetrics m, string key) => m.Metrics.Single(v => v.Key == key).Value;

    [Fact]
    public async Task Evaluate_GoodAndBadStudents_MetricsFollowWhatTheySaid()
    {
        var (good, _) = await EvaluateAsync(new Student(Good), "good");
        var (bad, _) = await EvaluateAsync(new Student(Bad), "bad");
        var g = EvalMetricsCalculator.Compute("good", good);
        var b = EvalMetricsCalculator.Compute("bad", bad);

        Assert.Equal(1.0, Metric(g, "false_premise_correction"));
        Assert.Equal(1.0, Metric(g, "refusal_rate"));
        Assert.Equal(1.0, Metric(g, "refusal_points_to_source"));
        Assert.Equal(0.0, Metric(g, "over_refusal"));
        Assert.Equal(1.0, Metric(g, "correctness"));
        Assert.Equal(1.0, Metric(g, "combination_all"));
        Assert.Equal(0.0, Metric(b, "false_premise_correction"));
        Assert.Equal(0.0, Metric(b, "refusal_rate"));
        Assert.Equal(0.5, Metric(b, "over_refusal"));
        Assert.Equal(0.0, Metric(b, "correctness"));
        Assert.Equal(0.0, Metric(b, "combination_turn3"));
        Assert.True(Metric(g, "token_f1") > Metric(b, "token_f1"));
        Assert.Equal(2, g.Metrics.Single(v => v.Key == "over_refusal").Count);
        Assert.Equal(0, g.Unscored);
    }

    [Fact]
    public async Task Evaluate_CorrectionNeedsTheOpenerRuleAsWellAsTheJudge()
    {
        // The judge sees "not 1957" and agrees, but the reply does not open with a correction.
        var (scores, _) = await EvaluateAsync(new Student(q => q.Contains("1957", StringComparison.Ordinal) ? "Good question! It was 1857, not 1957." : Good(q)), "late");
        var m = EvalMetricsCalculator.Compute("late", scores);
        Assert.Equal(1.0, Metric(m, "false_premise_correction_judge"));
        Assert.Equal(0.0, Metric(m, "false_premise_correction_rule"));
        Assert.Equal(0.0, Metric(m, "false_premise_correction"));
    }

    [Fact]
    public async Task Evaluate_CombinationProbe_AsksTheThreeTurnsInOneConversation()
    {
        var student = new Student(Good);
        var (scores, _) = await EvaluateAsync(student, "good");
        var combination = Assert.Single(scores, s => s.Combination);
        Assert.Equal([ExampleKind.Legitimate, ExampleKind.Refusal, ExampleKind.Negative], combination.Turns.Select(t => t.Kind));
        // Turn k sees the k−1 earlier exchanges: 1, 3 and 5 messages.
        Assert.Contains(("Why was the lighthouse built in 1957?", 5), student.Asked);
        Assert.Contains(("What does the ferry cost today?", 3), student.Asked);
    }

    [Fact]
    public async Task Evaluate_Again_AnswersAndVerdictsComeFromTheState()
    {
        var (first, judge) = await EvaluateAsync(new Student(Good), "good");
        Assert.NotEmpty(judge.Prompts);
        var again = new Student(_ => throw new InvalidOperationException("asked twice"));
        var (second, judgeAgain) = await EvaluateAsync(again, "good");
        Assert.Empty(again.Asked);
        Assert.Empty(judgeAgain.Prompts);
        Assert.Equal(first.SelectMany(s => s.Turns).Select(t => t.Verdict + t.Reply), second.SelectMany(s => s.Turns).Select(t => t.Verdict + t.Reply));

        // Another seed is another evaluation: it asks the student and the judge again.
        var reseeded = new Student(Good);
        var (_, judgeReseeded) = await EvaluateAsync(reseeded, "good", seed: 8);
        Assert.NotEmpty(reseeded.Asked);
        Assert.NotEmpty(judgeReseeded.Prompts);
    }

    [Fact]
    public async Task Evaluate_AStudentFailure_LeavesThatProbeUnscoredAndTheRestScored()
    {
        var (scores, _) = await EvaluateAsync(new Student(q => q.StartsWith("What did", StringComparison.Ordinal) ? throw new HttpRequestException("connection refused") : Good(q)), "flaky");
        var m = EvalMetricsCalculator.Compute("flaky", scores);
        Assert.Equal(1, m.Unscored);
        Assert.Equal(1, m.Metrics.Single(v => v.Key == "correctness").Count);
        Assert.Contains(scores.SelectMany(s => s.Turns), t => t.Failure is { } f && f.Contains("connection refused", StringComparison.Ordinal));
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

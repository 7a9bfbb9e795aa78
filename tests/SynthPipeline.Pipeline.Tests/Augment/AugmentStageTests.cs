using SynthPipeline.Pipeline.Teacher;
using Microsoft.SemanticKernel;
using SynthPipeline.Core.Augment;
using SynthPipeline.Llama.Teacher;
using SynthPipeline.Core.Options;
using SynthPipeline.Pipeline.Augment;
using SynthPipeline.Pipeline.SelfInstruct;
using SynthPipeline.Pipeline.State;

namespace SynthPipeline.Pipeline.Tests.Augment;

public sealed class AugmentStageTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("synth-augment-stage-").FullName;
    private readonly RunStore _store;

    public AugmentStageTests() => _store = RunStore.Open(_dir);

    public void Dispose()
    {
        _store.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private AugmentTeacher Teacher(ScriptedTeacher scripted, AugmentOptions? options = null) =>
        new(new TeacherRequests(scripted, _store, new TeacherCounters(TimeProvider.System)), PromptLibrary.Default(), Kernel.CreateBuilder().Build(),
            new AugmentSettings(options ?? new AugmentOptions { Corpus = "c" }, _ => null));

    private static ChunkWork Chunk(string text = "The tide rises twice a day because the Moon pulls the ocean.") =>
        new(new ChunkJob("tides.md", 3, 100, 100 + text.Length, text, null));

    [Fact]
    public async Task GroundedQuestions_OneAnswerNotInTheSource_JudgesRejectItWithTheirReasonAndAcceptTheRest()
    {
        var scripted = ScriptedTeacher.Good();
        var work = Chunk();
        await new GroundedQuestionStage(Teacher(scripted)).RunAsync(work, CancellationToken.None);

        var accepted = Assert.Single(work.Accepted);
        Assert.Equal(("What rises twice a day?", "The tide.", ExampleKind.Legitimate), (accepted.Question, accepted.Answer, accepted.Kind));
        Assert.Equal(("tides.md", 3, 100, 100 + work.Job.Text.Length), (accepted.File, accepted.Chunk, accepted.SpanStart, accepted.SpanEnd));
        Assert.Equal(["duplicate_question", "not_grounded"], work.Rejected.Select(r => r.Reason).Order());
        var notGrounded = work.Rejected.Single(r => r.Reason == "not_grounded");
        Assert.Equal(("legitimate", "tides.md#3"), (notGrounded.Stage, notGrounded.Source));
        Assert.Contains("Supported 0/2", notGrounded.Detail, StringComparison.Ordinal);
        Assert.Contains("the passage names the Moon, not Mars", notGrounded.Detail, StringComparison.Ordinal);
        // Three votes planned, two agreeing settle it: one question call and 2 + 2 judge calls.
        Assert.Equal(5, scripted.Prompts.Count);
    }

    [Fact]
    public async Task Negative_CorrectionFirstAndJudgesAgree_AcceptedWithItsFlawedAnswerAndPremise()
    {
        var work = Chunk();
        await new NegativeStage(Teacher(ScriptedTeacher.Good())).RunAsync(work, CancellationToken.None);
        var e = Assert.Single(work.Accepted);
        Assert.Equal(ExampleKind.Negative, e.Kind);
        Assert.StartsWith("No, actually", e.Answer, StringComparison.Ordinal);
        Assert.Equal("Because the Moon passes once.", e.FlawedAnswer);
        Assert.Contains("the source says twice", e.Topic, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Negative_AnswerDoesNotOpenWithACorrection_RejectedWithoutAskingTheJudges()
    {
        var scripted = ScriptedTeacher.Good();
        var work = Chunk("A sloppy passage: the tide rises twice a day.");
        await new NegativeStage(Teacher(scripted)).RunAsync(work, CancellationToken.None);
        Assert.Empty(work.Accepted);
        Assert.Equal("correction_not_first", Assert.Single(work.Rejected).Reason);
        Assert.Single(scripted.Prompts);
    }

    [Fact]
    public async Task Negative_JudgesSayThePremiseDoesNotContradict_RejectedAsPremiseNotContradicting()
    {
        var good = ScriptedTeacher.Good();
        var scripted = new ScriptedTeacher(p => p.Contains("in which a user's question rests on a false premise", StringComparison.Ordinal)
            ? "Contradicts: NO\nCorrects: YES\nReason: the source does not mention this at all." : good.Answer(p));
        var work = Chunk();
        await new NegativeStage(Teacher(scripted)).RunAsync(work, CancellationToken.None);
        var r = Assert.Single(work.Rejected);
        Assert.Equal(("negative", "premise_not_contradicting"), (r.Stage, r.Reason));
        Assert.Contains("does not mention this at all", r.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refusal_JudgesFindNoPointerForOneTopic_ThatOneRejectedWithNoPointer()
    {
        var options = new AugmentOptions
        {
            Corpus = "c", RefusalsPerChunk = 6,
            VolatileTopics = [new() { Name = "prices", Examples = ["What does it cost?"], WhereToLook = "the price list" }, new() { Name = "status", Examples = ["Is it open?"], WhereToLook = "the status page" }],
        };
        var work = Chunk();
        await new RefusalStage(Teacher(ScriptedTeacher.Good(), options)).RunAsync(work, CancellationToken.None);
        Assert.Equal(6, work.Accepted.Count + work.Rejected.Count);
        Assert.All(work.Accepted, e => Assert.Equal("status", e.Topic));
        Assert.All(work.Rejected, r => Assert.Equal("no_pointer", r.Reason));
        Assert.NotEmpty(work.Accepted);
        Assert.NotEmpty(work.Rejected);
    }

    [Fact]
    public async Task AnyStage_TeacherThrows_RejectionWithTheTeacherReasonNotAnException()
    {
        var work = Chunk();
        var teacher = Teacher(new ScriptedTeacher(_ => throw new InvalidOperationException("the GPU fell over")));
        await new GroundedQuestionStage(teacher).RunAsync(work, CancellationToken.None);
        await new NegativeStage(teacher).RunAsync(work, CancellationToken.None);
        await new RefusalStage(teacher).RunAsync(work, CancellationToken.None);
        Assert.Empty(work.Accepted);
        Assert.Equal(["legitimate", "negative", "refusal"], work.Rejected.Select(r => r.Stage).Order());
        Assert.All(work.Rejected, r => Assert.Equal("teacher_error", r.Reason));
        Assert.All(work.Rejected, r => Assert.Contains("the GPU fell over", r.Detail, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnyStage_AskedAgainAfterAResume_ReusesStoredAnswersWithoutCallingTheTeacher()
    {
        var first = ScriptedTeacher.Good();
        await new GroundedQuestionStage(Teacher(first)).RunAsync(Chunk(), CancellationToken.None);
        var second = ScriptedTeacher.Good();
        var again = Chunk();
        await new GroundedQuestionStage(Teacher(second)).RunAsync(again, CancellationToken.None);
        Assert.Empty(second.Prompts);
        Assert.Single(again.Accepted);
    }

}

using Microsoft.SemanticKernel;
using SynthPipeline.Core.Augment;
using SynthPipeline.Core.SelfInstruct;
using SynthPipeline.Core.Text;
using SynthPipeline.Pipeline.State;

namespace SynthPipeline.Pipeline.Augment;

/// <summary>
/// Legitimate examples. For a corpus chunk: the teacher writes question/answer pairs from the chunk, and each answer is
/// checked against the chunk by a majority of teacher judges; failures become rejections with the judges' reasons.
/// For a pair from a pairs file: the pair itself (it was accepted by the run that wrote it).
/// </summary>
public sealed class GroundedQuestionStage(AugmentTeacher teacher)
{
    public const string Stage = "legitimate";

    /// <summary>The checks recorded for a pair taken from a pairs file: its own run accepted it.</summary>
    public const string FromSourceRun = "accepted in the source run";
    private static readonly string[] Criteria = ["Supported"];
    private readonly JudgedStep _step = new(teacher, Stage);

    /// <summary>The template of the question request.</summary>
    public const string Template = "augment-questions";

    /// <summary>The question request's template arguments for a chunk.</summary>
    public static KernelArguments Arguments(ChunkJob job, int count)
    {
        ArgumentNullException.ThrowIfNull(job);
        return new KernelArguments { ["file"] = job.File, ["source"] = job.Text, ["count"] = count };
    }

    /// <summary>Rejections of text around the fields (preambles, closing offers, half pairs): recorded, not counted against a kind.</summary>
    public const string AnswerTextStage = "answer_text";

    public async Task RunAsync(ChunkWork work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        var job = work.Job;
        if (job.Pair is { } pair)
        {
            work.Accept(Example(job, 0, pair.Question, pair.Answer, FromSourceRun));
            return;
        }
        var count = teacher.Settings.Options.QuestionsPerChunk;
        if (await _step.AskAsync(work, $"questions|{job.File}|{job.Index}", Template, Arguments(job, count), teacher.Settings.Options.QuestionMaxTokens,
                "questions", cancellationToken).ConfigureAwait(false) is not { } answer) return;
        var dropped = new List<DroppedText>();
        var pairs = LabeledFields.Pairs(answer.Text!, answer.Truncated, dropped: dropped);
        foreach (var d in dropped) work.Reject(AnswerTextStage, d.Reason, "not part of any question or answer", TextPreview.Shorten(d.Text));
        if (pairs.Count == 0)
        {
            work.Reject(Stage, "unparseable", "no 'Question: … Answer: …' pair in the teacher's answer", TextPreview.Shorten(answer.Text!));
            return;
        }
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        await Task.WhenAll(pairs.Take(count).Select(async (p, n) =>
        {
            if (!seen.Add(p.Question))
            {
                work.Reject(Stage, "duplicate_question", null, p.Question);
                return;
            }
            var tally = await _step.JudgeAsync(work, $"grounding|{job.File}|{job.Index}|{n}", "augment-judge-grounding",
                new KernelArguments { ["source"] = job.Text, ["question"] = p.Question, ["answer"] = p.Answer }, Criteria, _ => "not_grounded",
                "grounding judge", p.Question, $"Q: {p.Question} | A: {p.Answer}", cancellationToken).ConfigureAwait(false);
            if (tally is not null) work.Accept(Example(job, n, p.Question, p.Answer, tally));
        }).ToList()).ConfigureAwait(false);
    }

    private static StoredExample Example(ChunkJob job, int n, string question, string answer, string checks) =>
        new(job.ExampleId("1-legitimate", n), ExampleKind.Legitimate, job.File, job.Index, job.Start, job.End, question, answer, null, null, checks);
}

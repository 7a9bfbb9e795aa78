using Microsoft.SemanticKernel;
using SynthPipeline.Augment;
using SynthPipeline.Pipeline.State;

namespace SynthPipeline.Pipeline.Augment;

/// <summary>
/// Negative examples: a question whose premise directly contradicts the source (a chunk, or a known answer), and a
/// response that corrects the premise first, then answers. The response must open as a correction (a rule check),
/// and a majority of teacher judges must confirm both the contradiction and the correction. The teacher also writes
/// a flawed answer that accepts the premise, which correction conversations show as an untrained turn.
/// </summary>
public sealed class NegativeStage(AugmentTeacher teacher)
{
    public const string Stage = "negative";
    private static readonly string[] Fields = ["Question", "False premise", "Flawed answer", "Correct answer"];
    private static readonly string[] Criteria = ["Contradicts", "Corrects"];

    /// <summary>The template of the negative request.</summary>
    public const string Template = "augment-negative";

    /// <summary>
    /// The negative request's template arguments. Every prompt about a chunk opens with the same source block, so the
    /// engine computes the chunk's KV once and the chunk's other requests reuse it as a shared prefix.
    /// </summary>
    public static KernelArguments Arguments(ChunkJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return new KernelArguments
        {
            ["source_kind"] = job.Pair is null ? "a passage from a document" : "a question with its known correct answer", ["source"] = job.Text,
        };
    }

    public async Task RunAsync(ChunkWork work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        var job = work.Job;
        var options = teacher.Settings.Options;
        var count = job.Pair is null ? options.NegativesPerChunk : options.NegativesPerPair;
        var source = job.Text;
        await Task.WhenAll(Enumerable.Range(0, count).Select(async n =>
        {
            var id = $"negative|{job.File}|{job.Index}|{n}";
            var answer = await teacher.AskAsync(id, Template, Arguments(job),
                options.VariantMaxTokens, options.Temperature, cancellationToken).ConfigureAwait(false);
            if (!answer.Succeeded)
            {
                work.Reject(Stage, answer.FailureReason!, $"{answer.FailureDetail} (after {answer.Attempts} attempts)", job.Text);
                return;
            }
            var fields = answer.Truncated ? null : LabeledFields.Single(answer.Text!, Fields);
            if (fields is null)
            {
                work.Reject(Stage, answer.Truncated ? "truncated" : "unparseable", $"expected {string.Join(", ", Fields)}", GroundedQuestionStage.Shorten(answer.Text!));
                return;
            }
            var (question, correction) = (fields["Question"], fields["Correct answer"]);
            if (!ResponseChecks.StartsWithCorrection(correction, teacher.Settings.CorrectionOpeners))
            {
                work.Reject(Stage, "correction_not_first", "the answer does not open by correcting the premise", $"Q: {question} | A: {correction}");
                return;
            }
            var verdict = await teacher.JudgeAsync($"negative-judge|{job.File}|{job.Index}|{n}", "augment-judge-negative",
                new KernelArguments { ["source"] = source, ["question"] = question, ["answer"] = correction }, Criteria, cancellationToken).ConfigureAwait(false);
            if (verdict.TeacherFailure is { } failure)
                work.Reject(Stage, failure.FailureReason!, $"judge: {failure.FailureDetail}", question);
            else if (!verdict.Accepted)
                work.Reject(Stage, verdict.FailedCriterion == "Contradicts" ? "premise_not_contradicting" : "correction_missing", verdict.Tally,
                    $"Q: {question} | premise: {fields["False premise"]} | A: {correction}");
            else
                work.Accept(new StoredExample(job.ExampleId("2-negative", n), ExampleKind.Negative, job.File, job.Index, job.Start, job.End,
                    question, correction, fields["Flawed answer"], fields["False premise"], verdict.Tally));
        })).ConfigureAwait(false);
    }
}

using Microsoft.SemanticKernel;
using SynthPipeline.Core.Augment;
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
    private readonly JudgedStep _step = new(teacher, Stage);

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
        await Task.WhenAll(Enumerable.Range(0, count).Select(async n =>
        {
            if (await _step.AskFieldsAsync(work, $"negative|{job.File}|{job.Index}|{n}", Template, Arguments(job), Fields, cancellationToken).ConfigureAwait(false)
                is not { } fields) return;
            var (question, correction) = (fields["Question"], fields["Correct answer"]);
            if (!ResponseChecks.StartsWithCorrection(correction, teacher.Settings.CorrectionOpeners))
            {
                work.Reject(Stage, "correction_not_first", "the answer does not open by correcting the premise", $"Q: {question} | A: {correction}");
                return;
            }
            var tally = await _step.JudgeAsync(work, $"negative-judge|{job.File}|{job.Index}|{n}", "augment-judge-negative",
                new KernelArguments { ["source"] = job.Text, ["question"] = question, ["answer"] = correction }, Criteria,
                failed => failed == "Contradicts" ? "premise_not_contradicting" : "correction_missing", "judge", question,
                $"Q: {question} | premise: {fields["False premise"]} | A: {correction}", cancellationToken).ConfigureAwait(false);
            if (tally is not null)
                work.Accept(new StoredExample(job.ExampleId("2-negative", n), ExampleKind.Negative, job.File, job.Index, job.Start, job.End,
                    question, correction, fields["Flawed answer"], fields["False premise"], tally));
        })).ConfigureAwait(false);
    }
}

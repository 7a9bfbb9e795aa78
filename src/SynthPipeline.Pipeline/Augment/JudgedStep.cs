using SynthPipeline.Core.SelfInstruct;
using Microsoft.SemanticKernel;
using SynthPipeline.Core.Augment;
using SynthPipeline.Core.Text;
using SynthPipeline.Pipeline.Teacher;

namespace SynthPipeline.Pipeline.Augment;

/// <summary>
/// The skeleton every augment stage follows: ask the teacher, read its labelled fields, have judges vote, then accept
/// or reject. Each step that fails records its rejection on the chunk's work, with the stage and a reason, and
/// returns null, so a stage reads as the happy path.
/// </summary>
public sealed class JudgedStep(AugmentTeacher teacher, string stage)
{
    public AugmentTeacher Teacher => teacher;

    /// <summary>The teacher's answer, or null after recording the failure; <paramref name="step"/> names what the request was for in a failure's detail.</summary>
    public async Task<TeacherOutcome?> AskAsync(ChunkWork work, string id, string template, KernelArguments arguments, int maxTokens, string? step,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        var answer = await teacher.AskAsync(id, template, arguments, maxTokens, teacher.Settings.Options.Temperature, cancellationToken).ConfigureAwait(false);
        if (answer.Succeeded) return answer;
        work.Reject(answer.ToRejection(stage, work.Job.Text, work.Job.Source, step));
        return null;
    }

    /// <summary>The answer's labelled <paramref name="fields"/>, or null after recording why there are none (failure, truncation, unparseable).</summary>
    public async Task<IReadOnlyDictionary<string, string>?> AskFieldsAsync(ChunkWork work, string id, string template, KernelArguments arguments,
        IReadOnlyList<string> fields, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        ArgumentNullException.ThrowIfNull(fields);
        if (await AskAsync(work, id, template, arguments, teacher.Settings.Options.VariantMaxTokens, null, cancellationToken).ConfigureAwait(false) is not { } answer)
            return null;
        var dropped = new List<DroppedText>();
        var parsed = answer.Truncated ? null : LabeledFields.Single(answer.Text!, fields, dropped);
        foreach (var d in dropped) work.Reject(GroundedQuestionStage.AnswerTextStage, d.Reason, "not part of any field", TextPreview.Shorten(d.Text));
        if (parsed is null)
            work.Reject(stage, answer.Truncated ? "truncated" : "unparseable", $"expected {string.Join(", ", fields)}", TextPreview.Shorten(answer.Text!));
        return parsed;
    }

    /// <summary>
    /// The judges' tally when a majority accepts; otherwise null, after recording the judges' teacher failure or the
    /// failed criterion as <paramref name="reasonFor"/> names it, with the tally as detail. A failed judge request
    /// names <paramref name="judged"/> (which judge) and records the <paramref name="question"/>.
    /// </summary>
    public async Task<string?> JudgeAsync(ChunkWork work, string id, string template, KernelArguments arguments, IReadOnlyList<string> criteria,
        Func<string?, string> reasonFor, string judged, string question, string rejectedText, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        ArgumentNullException.ThrowIfNull(reasonFor);
        var verdict = await teacher.JudgeAsync(id, template, arguments, criteria, cancellationToken).ConfigureAwait(false);
        if (verdict.TeacherFailure is { } failure)
            work.Reject(stage, failure.FailureReason!, $"{judged}: {failure.FailureDetail}", question);
        else if (!verdict.Accepted)
            work.Reject(stage, reasonFor(verdict.FailedCriterion), verdict.Tally, rejectedText);
        else
            return verdict.Tally;
        return null;
    }
}

using Microsoft.Extensions.AI;
using SynthPipeline.Pipeline.State;

namespace SynthPipeline.Pipeline.Stages;

/// <summary>
/// Teacher calls by stable id ("instruction:12", "classify:3"): an answer already in the store is returned as it
/// is; otherwise the teacher is asked and the request and its answer are committed before anything uses them.
/// </summary>
public sealed class TeacherRequests(ResilientTeacher teacher, RunStore store, PipelineProgress progress)
{
    public async Task<TeacherOutcome> AskAsync(string id, string kind, string prompt, ChatOptions options, CancellationToken cancellationToken)
    {
        if (store.GetRequest(id) is { Status: "done" or "failed" } saved)
            return saved.Status == "done"
                ? new TeacherOutcome(saved.Response, saved.Truncated, saved.Attempts, saved.OutputTokens, null, null)
                : new TeacherOutcome(null, false, saved.Attempts, 0, saved.Reason ?? "teacher_error", saved.Response);
        progress.RequestStarted();
        var tokens = 0;
        TeacherOutcome outcome;
        try
        {
            outcome = await teacher.AskAsync([new ChatMessage(ChatRole.User, prompt)], options, cancellationToken).ConfigureAwait(false);
            tokens = outcome.OutputTokens;
        }
        finally
        {
            progress.RequestEnded(tokens);
        }
        // A failed request keeps its detail in the response column, so a resumed run reports the same reason.
        store.SaveRequest(new StoredRequest(id, kind, prompt, outcome.Succeeded ? outcome.Text : outcome.FailureDetail, outcome.Truncated,
            outcome.Succeeded ? "done" : "failed", outcome.FailureReason, outcome.Attempts, outcome.OutputTokens));
        return outcome;
    }
}

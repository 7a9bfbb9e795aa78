using Microsoft.Extensions.AI;
using Polly.Timeout;
using SynthPipeline.Core;
using SynthPipeline.Core.Options;
using SynthPipeline.Pipeline.State;

namespace SynthPipeline.Pipeline.Teacher;

/// <summary>
/// Teacher calls by stable id ("instruction:12", "classify:3") through the composed <see cref="IChatClient"/>
/// (resilience and logging middleware around the model). An answer already in the store is returned as it is;
/// otherwise the teacher is asked, and the request and its answer, or its failure, are committed before anything uses
/// them, with its tokens, endpoint and cost (<see cref="RequestUsage"/>). Each request goes to the client of its role
/// (<see cref="RunTeacher.RoleOf"/>). Failures come back as data, never as exceptions that would stop the pipeline.
/// </summary>
public sealed class TeacherRequests(IReadOnlyDictionary<TeacherRole, IChatClient> roles, RunStore store, TeacherCounters counters)
{
    /// <summary>Every role on one client.</summary>
    public TeacherRequests(IChatClient teacher, RunStore store, TeacherCounters counters)
        : this(Enum.GetValues<TeacherRole>().ToDictionary(r => r, _ => teacher), store, counters)
    {
    }

    /// <summary>
    /// The <c>AdditionalProperties</c> key under which each request carries its kind ("instruction", "classify", a
    /// template name) to the middleware (see <see cref="Rehearsal.RehearsalChatClient"/>); endpoints never see it.
    /// </summary>
    public const string KindKey = "synth_request_kind";

    public Task<TeacherOutcome> AskAsync(string id, string kind, string prompt, ChatOptions options, CancellationToken cancellationToken) =>
        AskAsync(id, kind, [new ChatMessage(ChatRole.User, prompt)], options, cancellationToken);

    /// <summary>The same for a conversation (a multi-turn probe); the store keeps it as "role: text" blocks.</summary>
    public async Task<TeacherOutcome> AskAsync(string id, string kind, IReadOnlyList<ChatMessage> messages, ChatOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var prompt = messages.Count == 1 ? messages[0].Text : string.Join("\n\n", messages.Select(m => $"{m.Role}: {m.Text}"));
        if (store.GetRequest(id) is { } saved)
            return saved.Status == RequestStatus.Done
                ? new TeacherOutcome(saved.Response, saved.Truncated, saved.Attempts, saved.OutputTokens, null, null)
                : new TeacherOutcome(null, false, saved.Attempts, 0, saved.Reason ?? "teacher_error", saved.Response);
        counters.RequestStarted();
        var tokens = 0;
        var role = RunTeacher.RoleOf(kind);
        RequestUsage? usage = null;
        TeacherOutcome outcome;
        try
        {
            var response = await roles[role].GetResponseAsync(messages, WithKind(options, kind), cancellationToken).ConfigureAwait(false);
            tokens = (int)(response.Usage?.OutputTokenCount ?? 0);
            usage = RequestUsage.Of(kind, role, response) with { At = counters.Now };
            var attempts = response.AdditionalProperties?.TryGetValue(ResilientChatClient.AttemptsKey, out var a) == true ? Convert.ToInt32(a, System.Globalization.CultureInfo.InvariantCulture) : 1;
            outcome = new TeacherOutcome(response.Text, response.FinishReason == ChatFinishReason.Length, attempts, tokens, null, null);
        }
        catch (UserErrorException e)
        {
            throw new TeacherRefusedException(kind, e);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            var attempts = e.Data[ResilientChatClient.AttemptsKey] is int n ? n : 1;
            var reason = e switch { TeacherStalledException => "teacher_stalled", TimeoutRejectedException => "teacher_timeout", _ => "teacher_error" };
            outcome = new TeacherOutcome(null, false, attempts, 0, reason, e.Message);
        }
        finally
        {
            counters.RequestEnded(tokens);
        }
        // A failed request keeps its detail in the response column, so a resumed run reports the same reason.
        store.SaveRequest(new StoredRequest(id, kind, prompt, outcome.Succeeded ? outcome.Text : outcome.FailureDetail, outcome.Truncated,
            outcome.Succeeded ? RequestStatus.Done : RequestStatus.Failed, outcome.FailureReason, outcome.Attempts, outcome.OutputTokens), usage);
        return outcome;
    }

    private static ChatOptions WithKind(ChatOptions options, string kind)
    {
        var copy = options.Clone();
        copy.AdditionalProperties = copy.AdditionalProperties is null ? [] : new(copy.AdditionalProperties);
        copy.AdditionalProperties[KindKey] = kind;
        return copy;
    }
}

using System.Text;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace SynthPipeline.Pipeline.Stages;

/// <summary>A teacher answer, or why there is none; failures are data, recorded with the item.</summary>
public sealed record TeacherOutcome(string? Text, bool Truncated, int Attempts, int OutputTokens, string? FailureReason, string? FailureDetail)
{
    public bool Succeeded => FailureReason is null;
}

/// <summary>The teacher made no progress (no new token) for the stall limit.</summary>
public sealed class TeacherStalledException(TimeSpan stall) : Exception($"the teacher produced no token for {stall.TotalSeconds:F0} s")
{
}

/// <summary>
/// Calls the teacher through <see cref="IChatClient"/> streaming, so a request that stops making progress is
/// noticed: no new text for the stall limit (after the first token; queueing and prompt processing count against the
/// total timeout instead) cancels the attempt. Polly retries stalls, timeouts and teacher errors, then the outcome
/// is a failure record, never an exception that stops the pipeline.
/// </summary>
public sealed partial class ResilientTeacher
{
    private readonly IChatClient _client;
    private readonly TimeSpan _stall;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _pipeline;

    public ResilientTeacher(IChatClient client, TimeSpan stall, TimeSpan timeout, int retries, TimeProvider time, ILogger logger)
    {
        _client = client ?? throw new ArgumentNullException(nameof(client));
        _stall = stall;
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        var builder = new ResiliencePipelineBuilder { TimeProvider = time };
        if (retries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = retries,
                Delay = TimeSpan.FromMilliseconds(200),
                BackoffType = DelayBackoffType.Exponential,
                ShouldHandle = new PredicateBuilder().Handle<TeacherStalledException>().Handle<TimeoutRejectedException>()
                    .Handle<Exception>(e => e is not OperationCanceledException and not ObjectDisposedException and not ArgumentException),
                OnRetry = a =>
                {
                    LogRetry(_logger, a.AttemptNumber + 1, a.Outcome.Exception?.Message ?? "no answer");
                    return ValueTask.CompletedTask;
                },
            });
        }
        _pipeline = builder.AddTimeout(timeout).Build();
    }

    public async Task<TeacherOutcome> AskAsync(IList<ChatMessage> messages, ChatOptions options, CancellationToken cancellationToken)
    {
        var attempts = 0;
        try
        {
            var (text, truncated, tokens) = await _pipeline.ExecuteAsync(async token =>
            {
                attempts++;
                return await AttemptAsync(messages, options, token).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
            return new TeacherOutcome(text, truncated, attempts, tokens, null, null);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (TeacherStalledException e)
        {
            return new TeacherOutcome(null, false, attempts, 0, "teacher_stalled", e.Message);
        }
        catch (TimeoutRejectedException e)
        {
            return new TeacherOutcome(null, false, attempts, 0, "teacher_timeout", e.Message);
        }
#pragma warning disable CA1031 // a failed request is recorded with its item; the run goes on
        catch (Exception e) when (e is not OperationCanceledException)
#pragma warning restore CA1031
        {
            return new TeacherOutcome(null, false, attempts, 0, "teacher_error", e.Message);
        }
    }

    private async Task<(string Text, bool Truncated, int Tokens)> AttemptAsync(IList<ChatMessage> messages, ChatOptions options, CancellationToken token)
    {
        using var stall = new CancellationTokenSource(Timeout.InfiniteTimeSpan, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(token, stall.Token);
        var text = new StringBuilder();
        var truncated = false;
        var tokens = 0;
        try
        {
            await foreach (var update in _client.GetStreamingResponseAsync(messages, options, linked.Token).ConfigureAwait(false))
            {
                text.Append(update.Text);
                stall.CancelAfter(_stall);
                if (update.FinishReason == ChatFinishReason.Length) truncated = true;
                foreach (var usage in update.Contents.OfType<UsageContent>()) tokens = (int)(usage.Details.OutputTokenCount ?? tokens);
            }
        }
        catch (OperationCanceledException) when (stall.IsCancellationRequested && !token.IsCancellationRequested)
        {
            throw new TeacherStalledException(_stall);
        }
        return (text.ToString(), truncated, tokens);
    }

    [LoggerMessage(EventId = 40, Level = LogLevel.Warning, Message = "teacher request retried (attempt {Attempt}): {Why}")]
    private static partial void LogRetry(ILogger logger, int attempt, string why);
}

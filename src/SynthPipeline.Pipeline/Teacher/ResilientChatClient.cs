using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using Polly.Timeout;
using SynthPipeline.Core;

namespace SynthPipeline.Pipeline.Teacher;

/// <summary>
/// <see cref="IChatClient"/> middleware against stalled and failing requests. Every call streams from the inner client,
/// so a request that stops making progress is noticed: no new text for the stall limit (counted from the first token;
/// queueing and prompt processing count against the total timeout instead) cancels the attempt. For
/// <see cref="GetResponseAsync"/>, Polly retries stalls, timeouts and teacher errors with backoff; the response carries
/// the number of attempts in <see cref="AttemptsKey"/>. Streaming calls get the stall check but no retry, since text
/// already handed out cannot be taken back.
/// </summary>
public sealed partial class ResilientChatClient : DelegatingChatClient
{
    /// <summary>Response property: how many attempts the answer took.</summary>
    public const string AttemptsKey = "attempts";

    private readonly TimeSpan _stall;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _pipeline;

    public ResilientChatClient(IChatClient inner, TimeSpan stall, TimeSpan timeout, int retries, TimeProvider time, ILogger logger) : base(inner)
    {
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
                    .Handle<Exception>(e => e is not OperationCanceledException and not ObjectDisposedException and not ArgumentException and not UserErrorException),
                OnRetry = a =>
                {
                    LogRetry(_logger, a.AttemptNumber + 1, a.Outcome.Exception?.Message ?? "no answer");
                    return ValueTask.CompletedTask;
                },
            });
        }
        _pipeline = builder.AddTimeout(timeout).Build();
    }

    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var list = messages as IList<ChatMessage> ?? messages.ToList();
        var attempts = 0;
        try
        {
            var response = await _pipeline.ExecuteAsync(async token =>
            {
                attempts++;
                var updates = new List<ChatResponseUpdate>();
                await foreach (var update in GetStreamingResponseAsync(list, options, token).ConfigureAwait(false)) updates.Add(update);
                return updates.ToChatResponse();
            }, cancellationToken).ConfigureAwait(false);
            (response.AdditionalProperties ??= [])[AttemptsKey] = attempts;
            return response;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            e.Data[AttemptsKey] = attempts;
            throw;
        }
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var stall = new CancellationTokenSource(Timeout.InfiniteTimeSpan, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stall.Token);
        var stream = base.GetStreamingResponseAsync(messages, options, linked.Token).GetAsyncEnumerator(linked.Token);
        try
        {
            while (true)
            {
                ChatResponseUpdate update;
                try
                {
                    if (!await stream.MoveNextAsync().ConfigureAwait(false)) yield break;
                    update = stream.Current;
                }
                catch (OperationCanceledException) when (stall.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    throw new TeacherStalledException(_stall);
                }
                stall.CancelAfter(_stall);
                yield return update;
            }
        }
        finally
        {
            await stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    [LoggerMessage(EventId = 40, Level = LogLevel.Warning, Message = "teacher request retried (attempt {Attempt}): {Why}")]
    private static partial void LogRetry(ILogger logger, int attempt, string why);
}

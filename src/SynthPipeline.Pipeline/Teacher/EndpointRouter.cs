using System.ClientModel;
using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using SynthPipeline.Pipeline.State;

namespace SynthPipeline.Pipeline.Teacher;

/// <summary>
/// An <see cref="IChatClient"/> over several OpenAI-compatible endpoints. Each request goes to the endpoint with the
/// fewest outstanding requests (ties by weight) that has room under its <c>MaxConcurrent</c> and is neither paused nor
/// benched; with none free it waits. Until its first token a request is moved on transparently: a 429 pauses that
/// endpoint for its Retry-After (or retry-after-ms), and a 5xx or a dropped connection counts against the endpoint
/// (benched after three in a row for a second, doubling while its probes keep failing, up to a minute) while the request is tried elsewhere. A stream that breaks after
/// text was handed out is an error for the caller (the resilience middleware retries the whole request), so nothing is
/// delivered twice. Requests whose prompts share a long prefix go to the endpoint that served it last while it has
/// room (<see cref="PrefixAffinity"/>), so the servers' prefix caches hit. The last update of an answer names the
/// endpoint (<see cref="EndpointKey"/>) and its cost at the endpoint's prices (<see cref="CostKey"/>). Routers for
/// different roles may share endpoints: slots, pauses, benches and prefix memory live in the shared
/// <see cref="RemoteEndpoint"/>s and <see cref="EndpointFleet"/>.
/// </summary>
public sealed partial class EndpointRouter : IChatClient
{
    private const int BenchAfter = 3;
    private static readonly TimeSpan LongestBench = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan MaxPause = TimeSpan.FromMinutes(5);
    private readonly IReadOnlyList<RemoteEndpoint> _endpoints;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly int _maxTries;
    private readonly EndpointFleet _fleet;

    /// <summary>Response property: the endpoint that answered (its <c>Name</c>, or its index).</summary>
    public const string EndpointKey = RequestUsage.EndpointKey;

    /// <summary>Response property: the answer's cost at the endpoint's prices; absent when it has none.</summary>
    public const string CostKey = RequestUsage.CostKey;

    public EndpointRouter(IReadOnlyList<RemoteEndpoint> endpoints, TimeProvider time, ILogger logger, int maxTries = 20, EndpointFleet? fleet = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (endpoints.Count == 0) throw new ArgumentException("at least one endpoint", nameof(endpoints));
        _endpoints = endpoints;
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _maxTries = maxTries;
        _fleet = fleet ?? new EndpointFleet();
    }

    public IReadOnlyList<RemoteEndpoint> Endpoints => _endpoints;

    /// <summary>Requests sent to an endpoint because it held their prefix.</summary>
    public long AffinityHits => Interlocked.Read(ref _affinityHits);

    private long _affinityHits;

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var list = messages as IList<ChatMessage> ?? messages.ToList();
        var keys = PrefixAffinity.Keys(list.Count == 1 ? list[0].Text : string.Join("\n", list.Select(m => m.Text)));
        for (var attempt = 1; ; attempt++)
        {
            var endpoint = await AcquireAsync(keys, cancellationToken).ConfigureAwait(false);
            UsageDetails? usage = null;
            var stream = endpoint.Client.GetStreamingResponseAsync(list, options, cancellationToken).GetAsyncEnumerator(cancellationToken);
            var yielded = false;
            Exception? failure = null;
            try
            {
                while (true)
                {
                    ChatResponseUpdate update;
                    try
                    {
                        if (!await stream.MoveNextAsync().ConfigureAwait(false)) break;
                        update = stream.Current;
                    }
                    catch (Exception e) when (!yielded && Transient(e, endpoint) && !cancellationToken.IsCancellationRequested)
                    {
                        failure = e;
                        break;
                    }
                    yielded = true;
                    // Once per streamed event (about a token each): a plain loop, no LINQ enumerator per event.
                    foreach (var content in update.Contents)
                        if (content is UsageContent u) usage = u.Details;
                    yield return update;
                }
            }
            finally
            {
                await stream.DisposeAsync().ConfigureAwait(false);
                Release(endpoint);
            }
            if (failure is null)
            {
                endpoint.Succeeded();
                var done = new ChatResponseUpdate { Role = ChatRole.Assistant, AdditionalProperties = new() { [EndpointKey] = endpoint.Label } };
                if (endpoint.Cost(usage) is { } cost) done.AdditionalProperties[CostKey] = cost;
                yield return done;
                yield break;
            }
            LogMoved(_logger, endpoint.Name, attempt, failure.Message);
            if (attempt >= _maxTries) throw new HttpRequestException($"no endpoint answered after {attempt} tries; last: {endpoint.Name}: {failure.Message}", failure);
        }
    }

    /// <summary>A failure before the first token that another try may not have: rate limits, server errors, broken connections.</summary>
    private bool Transient(Exception e, RemoteEndpoint endpoint)
    {
        var now = _time.GetUtcNow();
        switch (e)
        {
            case ClientResultException { Status: 429 } limited:
                endpoint.PauseUntil(now + RetryAfter(limited));
                return true;
            case ClientResultException { Status: >= 500 }:
            case ClientResultException { Status: 0 }:
            case HttpRequestException:
            case IOException:
                CountFailure(endpoint, now);
                return true;
            default:
                if (e.InnerException is not (HttpRequestException or IOException)) return false;
                CountFailure(endpoint, now);
                return true;
        }
    }

    private void CountFailure(RemoteEndpoint endpoint, DateTimeOffset now)
    {
        var bench = endpoint.Failed(BenchAfter, now, LongestBench);
        if (bench > TimeSpan.Zero) LogBenched(_logger, endpoint.Name, bench.TotalSeconds);
    }

    /// <summary>The server's retry-after-ms (OpenAI's) or Retry-After in seconds; a second when it sends neither.</summary>
    private static TimeSpan RetryAfter(ClientResultException e)
    {
        var headers = e.GetRawResponse()?.Headers;
        if (headers is not null)
        {
            if (headers.TryGetValue("retry-after-ms", out var ms) && double.TryParse(ms, NumberStyles.Float, CultureInfo.InvariantCulture, out var m))
                return TimeSpan.FromMilliseconds(Math.Clamp(m, 0, MaxPause.TotalMilliseconds));
            if (headers.TryGetValue("Retry-After", out var s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
                return TimeSpan.FromSeconds(Math.Clamp(seconds, 0, MaxPause.TotalSeconds));
        }
        return TimeSpan.FromSeconds(1);
    }

    private async Task<RemoteEndpoint> AcquireAsync(ulong[] keys, CancellationToken cancellationToken)
    {
        while (true)
        {
            var released = _fleet.NextRelease;
            var now = _time.GetUtcNow();
            if (_fleet.Affinity.Preferred(keys) is { } preferred && _endpoints.FirstOrDefault(e => e.Index == preferred) is { } holder && holder.TryAcquire(now))
            {
                Interlocked.Increment(ref _affinityHits);
                _fleet.Affinity.Record(keys, holder.Index);
                return holder;
            }
            foreach (var endpoint in _endpoints.OrderBy(e => e.Outstanding).ThenByDescending(e => e.Options.Weight))
                if (endpoint.TryAcquire(now))
                {
                    _fleet.Affinity.Record(keys, endpoint.Index);
                    return endpoint;
                }
            // Everything is busy, paused or benched: wake on the next release or when the first pause ends.
            var next = _endpoints.Min(e => e.AvailableAt);
            var wait = next > now ? next - now : TimeSpan.FromMilliseconds(50);
            using var delay = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            await Task.WhenAny(released, Task.Delay(wait, _time, delay.Token)).ConfigureAwait(false);
            await delay.CancelAsync().ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    private void Release(RemoteEndpoint endpoint)
    {
        endpoint.Release();
        _fleet.Released();
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceType == typeof(EndpointRouter) ? this : null;

    /// <summary>Nothing to release: the endpoints belong to whoever made them (several routers share them).</summary>
    public void Dispose()
    {
    }

    [LoggerMessage(EventId = 60, Level = LogLevel.Information, Message = "request moved from {Endpoint} (try {Attempt}): {Why}")]
    private static partial void LogMoved(ILogger logger, string endpoint, int attempt, string why);

    [LoggerMessage(EventId = 61, Level = LogLevel.Warning, Message = "{Endpoint} failed three times in a row; benched for {Seconds} s, then probed again")]
    private static partial void LogBenched(ILogger logger, string endpoint, double seconds);
}

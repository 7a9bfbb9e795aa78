using Microsoft.Extensions.AI;
using SynthPipeline.Core.Options;

namespace SynthPipeline.Pipeline.Teacher;

/// <summary>
/// One OpenAI-compatible server as the router sees it: its client, how many requests it has outstanding (at most
/// <c>MaxConcurrent</c>), until when it asked to be left alone (429 with Retry-After), and whether it is benched after
/// failing several times in a row. Thread-safe.
/// </summary>
public sealed class RemoteEndpoint : IDisposable
{
    private readonly Lock _gate = new();
    private int _outstanding;
    private int _consecutiveFailures;
    private int _benches;
    private DateTimeOffset _availableAt = DateTimeOffset.MinValue;

    public RemoteEndpoint(int index, TeacherEndpointOptions options, IChatClient client)
    {
        ArgumentNullException.ThrowIfNull(options);
        Index = index;
        Options = options;
        Client = client ?? throw new ArgumentNullException(nameof(client));
    }

    public int Index { get; }

    public TeacherEndpointOptions Options { get; }

    public IChatClient Client { get; }

    /// <summary>The endpoint's <c>Name</c>, or its index: how roles and the accounting name it.</summary>
    public string Label => Options.Label(Index);

    /// <summary>What an answer with <paramref name="usage"/> cost at this endpoint's prices; null without prices or usage.</summary>
    public double? Cost(UsageDetails? usage)
    {
        var o = Options;
        if (usage is null || (o.PricePerMillionInput is null && o.PricePerMillionOutput is null)) return null;
        var input = usage.InputTokenCount ?? 0;
        var cached = Math.Min(input, usage.CachedInputTokenCount ?? 0);
        var inputPrice = o.PricePerMillionInput ?? 0;
        return ((input - cached) * inputPrice + cached * (o.PricePerMillionCachedInput ?? inputPrice) + (usage.OutputTokenCount ?? 0) * (o.PricePerMillionOutput ?? 0)) / 1e6;
    }

    /// <summary>"Teacher:Endpoints:N (url, model)", how errors and the card name it; never the key.</summary>
    public string Name => $"Teacher:Endpoints:{Index} ({Options.Url}, {Options.Model})";

    public int Outstanding
    {
        get
        {
            lock (_gate) return _outstanding;
        }
    }

    /// <summary>Takes a slot if the endpoint has room and is not paused or benched at <paramref name="now"/>.</summary>
    internal bool TryAcquire(DateTimeOffset now)
    {
        lock (_gate)
        {
            if (_outstanding >= Options.MaxConcurrent || now < _availableAt) return false;
            _outstanding++;
            return true;
        }
    }

    internal void Release()
    {
        lock (_gate) _outstanding--;
    }

    /// <summary>When the endpoint can take requests again (for a caller that found every endpoint unavailable).</summary>
    internal DateTimeOffset AvailableAt
    {
        get
        {
            lock (_gate) return _availableAt;
        }
    }

    internal void Succeeded()
    {
        lock (_gate) _consecutiveFailures = _benches = 0;
    }

    /// <summary>The server asked for a pause (429): no request goes to it before <paramref name="until"/>.</summary>
    internal void PauseUntil(DateTimeOffset until)
    {
        lock (_gate)
            if (until > _availableAt) _availableAt = until;
    }

    /// <summary>
    /// A server error or dropped connection; after <paramref name="benchAfter"/> in a row the endpoint is benched, for
    /// a second the first time and twice as long each time it fails its probe again, up to <paramref name="longest"/>.
    /// </summary>
    /// <returns>How long this failure benched it; zero when it did not.</returns>
    internal TimeSpan Failed(int benchAfter, DateTimeOffset now, TimeSpan longest)
    {
        lock (_gate)
        {
            if (++_consecutiveFailures < benchAfter) return TimeSpan.Zero;
            var bench = TimeSpan.FromSeconds(Math.Min(longest.TotalSeconds, Math.Pow(2, _benches++)));
            _availableAt = now + bench;
            _consecutiveFailures = benchAfter - 1;
            return bench;
        }
    }

    public void Dispose() => Client.Dispose();
}

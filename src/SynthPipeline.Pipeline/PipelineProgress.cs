using System.Collections.Concurrent;

namespace SynthPipeline.Pipeline;

/// <summary>Live counters of a run, updated by the stages and read by the progress display; thread-safe.</summary>
public sealed class PipelineProgress(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, long> _rejections = new(StringComparer.Ordinal);
    private long _accepted, _target, _inFlight, _prompts, _instancesDone, _tokens, _tokensAtStart;
    private readonly long _started = time.GetTimestamp();

    public long Accepted => Interlocked.Read(ref _accepted);

    public long Target => Interlocked.Read(ref _target);

    public long InFlight => Interlocked.Read(ref _inFlight);

    public long PromptsProcessed => Interlocked.Read(ref _prompts);

    public long InstructionsWithInstances => Interlocked.Read(ref _instancesDone);

    public long GeneratedTokens => Interlocked.Read(ref _tokens);

    public IReadOnlyDictionary<string, long> Rejections => new Dictionary<string, long>(_rejections, StringComparer.Ordinal);

    public TimeSpan Elapsed => time.GetElapsedTime(_started);

    /// <summary>Tokens generated per second by this process (a resumed run's earlier tokens excluded).</summary>
    public double TokensPerSecond => Elapsed.TotalSeconds > 0 ? (GeneratedTokens - Interlocked.Read(ref _tokensAtStart)) / Elapsed.TotalSeconds : 0;

    /// <summary>Time left at the rate accepted instructions arrived in this process; null until there is a rate.</summary>
    public TimeSpan? EstimatedRemaining(long acceptedAtStart)
    {
        var done = Accepted - acceptedAtStart;
        if (done <= 0 || Accepted >= Target) return Accepted >= Target ? TimeSpan.Zero : null;
        return TimeSpan.FromSeconds(Elapsed.TotalSeconds / done * (Target - Accepted));
    }

    internal void Start(long target, long accepted, long prompts, long instancesDone, long tokens)
    {
        Interlocked.Exchange(ref _target, target);
        Interlocked.Exchange(ref _accepted, accepted);
        Interlocked.Exchange(ref _prompts, prompts);
        Interlocked.Exchange(ref _instancesDone, instancesDone);
        Interlocked.Exchange(ref _tokens, tokens);
        Interlocked.Exchange(ref _tokensAtStart, tokens);
    }

    internal void AddRejection(string reason) => _rejections.AddOrUpdate(reason, 1, (_, n) => n + 1);

    internal void SetAccepted(long n) => Interlocked.Exchange(ref _accepted, n);

    internal void PromptProcessed() => Interlocked.Increment(ref _prompts);

    internal void InstancesDone() => Interlocked.Increment(ref _instancesDone);

    internal void RequestStarted() => Interlocked.Increment(ref _inFlight);

    internal void RequestEnded(int tokens)
    {
        Interlocked.Decrement(ref _inFlight);
        Interlocked.Add(ref _tokens, tokens);
    }
}

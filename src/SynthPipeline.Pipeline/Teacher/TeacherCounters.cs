namespace SynthPipeline.Pipeline.Teacher;

/// <summary>Live teacher counters of a run: requests in flight and tokens generated, with this process's rate; thread-safe.</summary>
public sealed class TeacherCounters(TimeProvider time)
{
    private readonly long _started = time.GetTimestamp();
    private long _inFlight, _tokens, _tokensAtStart;

    public long InFlight => Interlocked.Read(ref _inFlight);

    public long GeneratedTokens => Interlocked.Read(ref _tokens);

    public TimeSpan Elapsed => time.GetElapsedTime(_started);

    /// <summary>The wall-clock time, for recording when an answer arrived.</summary>
    public DateTimeOffset Now => time.GetUtcNow();

    /// <summary>Tokens generated per second by this process (a resumed run's earlier tokens excluded).</summary>
    public double TokensPerSecond => Elapsed.TotalSeconds > 0 ? (GeneratedTokens - Interlocked.Read(ref _tokensAtStart)) / Elapsed.TotalSeconds : 0;

    /// <summary>Starts the count at the tokens a resumed run had already generated.</summary>
    public void Start(long tokens)
    {
        Interlocked.Exchange(ref _tokens, tokens);
        Interlocked.Exchange(ref _tokensAtStart, tokens);
    }

    internal void RequestStarted() => Interlocked.Increment(ref _inFlight);

    internal void RequestEnded(int tokens)
    {
        Interlocked.Decrement(ref _inFlight);
        Interlocked.Add(ref _tokens, tokens);
    }
}

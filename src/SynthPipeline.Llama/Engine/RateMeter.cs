namespace SynthPipeline.Llama.Engine;

/// <summary>Rates of two growing counters over a sliding window, recorded by one thread and read by any.</summary>
internal sealed class RateMeter(TimeProvider time, TimeSpan window)
{
    private static readonly TimeSpan MinSpacing = TimeSpan.FromMilliseconds(100);
    private readonly Queue<(long At, long A, long B)> _samples = new();
    private readonly Lock _lock = new();
    private long _lastAt;

    public void Record(long a, long b)
    {
        var now = time.GetTimestamp();
        lock (_lock)
        {
            if (_samples.Count > 0 && time.GetElapsedTime(_lastAt, now) < MinSpacing) return;
            _samples.Enqueue((now, a, b));
            _lastAt = now;
            while (_samples.Count > 1 && time.GetElapsedTime(_samples.Peek().At, now) > window) _samples.Dequeue();
        }
    }

    /// <summary>Per-second rates of the counters from the oldest sample in the window to now.</summary>
    public (double A, double B) Rates(long a, long b)
    {
        lock (_lock)
        {
            if (_samples.Count == 0) return (0, 0);
            var (at, a0, b0) = _samples.Peek();
            var seconds = time.GetElapsedTime(at).TotalSeconds;
            return seconds <= 0 ? (0, 0) : ((a - a0) / seconds, (b - b0) / seconds);
        }
    }
}

namespace SynthPipeline.Server;

/// <summary>How the server's requests ended, for <c>/metrics</c>; thread-safe.</summary>
public sealed class ServerCounters
{
    private long _inFlight, _ok, _invalid, _disconnected, _failed;

    public long InFlight => Interlocked.Read(ref _inFlight);

    public long Ok => Interlocked.Read(ref _ok);

    /// <summary>Refused with 400 (bad field, prompt over the context, bad grammar) or 401.</summary>
    public long Invalid => Interlocked.Read(ref _invalid);

    /// <summary>The client went away before the answer was complete; its sequence was cancelled.</summary>
    public long Disconnected => Interlocked.Read(ref _disconnected);

    public long Failed => Interlocked.Read(ref _failed);

    internal void Started() => Interlocked.Increment(ref _inFlight);

    internal void Ended(ServedOutcome outcome)
    {
        Interlocked.Decrement(ref _inFlight);
        switch (outcome)
        {
            case ServedOutcome.Ok: Interlocked.Increment(ref _ok); break;
            case ServedOutcome.Invalid: Interlocked.Increment(ref _invalid); break;
            case ServedOutcome.Disconnected: Interlocked.Increment(ref _disconnected); break;
            default: Interlocked.Increment(ref _failed); break;
        }
    }

    internal void Refused() => Interlocked.Increment(ref _invalid);
}

/// <summary>How one request ended.</summary>
internal enum ServedOutcome
{
    Ok,
    Invalid,
    Disconnected,
    Failed,
}

namespace SynthPipeline.Pipeline.Teacher;

/// <summary>
/// What the routers of one run share besides the endpoints themselves: the signal that a slot was released (so a
/// request waiting in one role's router wakes when another role's request ends) and the prefix memory.
/// </summary>
public sealed class EndpointFleet
{
    private readonly Lock _gate = new();
    private TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public PrefixAffinity Affinity { get; } = new();

    /// <summary>Completes at the next release of any endpoint slot.</summary>
    public Task NextRelease
    {
        get
        {
            lock (_gate) return _released.Task;
        }
    }

    internal void Released()
    {
        TaskCompletionSource signal;
        lock (_gate)
        {
            signal = _released;
            _released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        signal.TrySetResult();
    }
}

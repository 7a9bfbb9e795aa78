using System.Globalization;
using SynthPipeline.Pipeline.Progress;
using SynthPipeline.Pipeline.Teacher;

namespace SynthPipeline.Pipeline.SelfInstruct;

/// <summary>Live counters of a Self-Instruct run, updated by its stages and read by the progress display; thread-safe.</summary>
public sealed class SelfInstructProgress(TimeProvider time) : IRunProgress
{
    private long _accepted, _acceptedAtStart, _target, _prompts, _instancesDone;

    public TeacherCounters Teacher { get; } = new(time);

    public RejectionCounts Rejections { get; } = new();

    public long Accepted => Interlocked.Read(ref _accepted);

    public long Target => Interlocked.Read(ref _target);

    public long PromptsProcessed => Interlocked.Read(ref _prompts);

    public long InstructionsWithInstances => Interlocked.Read(ref _instancesDone);

    public TimeSpan Elapsed => Teacher.Elapsed;

    /// <summary>Time left at the rate accepted instructions arrived in this process; null until there is a rate.</summary>
    public TimeSpan? EstimatedRemaining
    {
        get
        {
            var done = Accepted - Interlocked.Read(ref _acceptedAtStart);
            if (Accepted >= Target) return TimeSpan.Zero;
            return done <= 0 ? null : TimeSpan.FromSeconds(Elapsed.TotalSeconds / done * (Target - Accepted));
        }
    }

    public ProgressSnapshot Snapshot() => new("synth generate", "accepted", Accepted, Target, Elapsed, EstimatedRemaining,
    [
        new("prompts processed", PromptsProcessed.ToString(CultureInfo.InvariantCulture)),
        new("instructions with examples", InstructionsWithInstances.ToString(CultureInfo.InvariantCulture)),
        new("requests in flight", Teacher.InFlight.ToString(CultureInfo.InvariantCulture)),
        new("generated tokens/s", Teacher.TokensPerSecond.ToString("F0", CultureInfo.InvariantCulture)),
    ], Rejections.Snapshot());

    internal void Start(long target, long accepted, long prompts, long instancesDone, long tokens)
    {
        Interlocked.Exchange(ref _target, target);
        Interlocked.Exchange(ref _accepted, accepted);
        Interlocked.Exchange(ref _acceptedAtStart, accepted);
        Interlocked.Exchange(ref _prompts, prompts);
        Interlocked.Exchange(ref _instancesDone, instancesDone);
        Teacher.Start(tokens);
    }

    internal void SetAccepted(long n) => Interlocked.Exchange(ref _accepted, n);

    internal void PromptProcessed() => Interlocked.Increment(ref _prompts);

    internal void InstancesDone() => Interlocked.Increment(ref _instancesDone);
}

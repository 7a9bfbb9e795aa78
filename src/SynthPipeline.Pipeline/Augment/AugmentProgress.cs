using System.Collections.Concurrent;
using System.Globalization;
using SynthPipeline.Core.Augment;
using SynthPipeline.Pipeline.Progress;
using SynthPipeline.Pipeline.Teacher;

namespace SynthPipeline.Pipeline.Augment;

/// <summary>Live counters of an augment run, updated by its stages and read by the progress display; thread-safe.</summary>
public sealed class AugmentProgress(TimeProvider time) : IRunProgress
{
    private readonly ConcurrentDictionary<ExampleKind, long> _accepted = new();
    private readonly ConcurrentQueue<DocumentProblem> _problems = new();
    private long _documents, _pages, _chunksKnown, _chunksDone, _chunksDoneAtStart, _rejected;

    public TeacherCounters Teacher { get; } = new(time);

    public RejectionCounts Rejections { get; } = new();

    public long DocumentsRead => Interlocked.Read(ref _documents);

    public long Pages => Interlocked.Read(ref _pages);

    public long ChunksKnown => Interlocked.Read(ref _chunksKnown);

    public long ChunksDone => Interlocked.Read(ref _chunksDone);

    public long Rejected => Interlocked.Read(ref _rejected);

    public long Accepted(ExampleKind kind) => _accepted.GetValueOrDefault(kind);

    public IReadOnlyList<DocumentProblem> Problems => [.. _problems];

    public TimeSpan Elapsed => Teacher.Elapsed;

    /// <summary>Chunks finished per minute by this process (a resumed run's earlier chunks excluded).</summary>
    public double ChunksPerMinute => Elapsed.TotalMinutes > 0 ? (ChunksDone - Interlocked.Read(ref _chunksDoneAtStart)) / Elapsed.TotalMinutes : 0;

    /// <summary>Time left for the chunks known so far, at this process's rate; null until there is a rate.</summary>
    public TimeSpan? EstimatedRemaining =>
        ChunksPerMinute > 0 ? TimeSpan.FromMinutes((ChunksKnown - ChunksDone) / ChunksPerMinute) : ChunksKnown == ChunksDone && ChunksKnown > 0 ? TimeSpan.Zero : null;

    public ProgressSnapshot Snapshot() => new("synth augment", "chunks", ChunksDone, ChunksKnown, Elapsed, EstimatedRemaining,
    [
        new("documents read / skipped", $"{DocumentsRead} / {Problems.Count}"),
        new("accepted", string.Join(", ", Enum.GetValues<ExampleKind>().Select(k => $"{k.ToString().ToLowerInvariant()} {Accepted(k)}"))),
        new("requests in flight", Teacher.InFlight.ToString(CultureInfo.InvariantCulture)),
        new("generated tokens/s", Teacher.TokensPerSecond.ToString("F0", CultureInfo.InvariantCulture)),
        new("chunks/min", ChunksPerMinute.ToString("F1", CultureInfo.InvariantCulture)),
    ], Rejections.Snapshot());

    internal void Start(long chunksKnown, long chunksDone, long tokens)
    {
        Teacher.Start(tokens);
        Interlocked.Exchange(ref _chunksKnown, chunksKnown);
        Interlocked.Exchange(ref _chunksDone, chunksDone);
        Interlocked.Exchange(ref _chunksDoneAtStart, chunksDone);
    }

    internal void DocumentRead(int pages, int newChunks)
    {
        Interlocked.Increment(ref _documents);
        Interlocked.Add(ref _pages, pages);
        Interlocked.Add(ref _chunksKnown, newChunks);
    }

    internal void Problem(DocumentProblem problem) => _problems.Enqueue(problem);

    internal void ChunkCommitted(ChunkWork work)
    {
        Interlocked.Increment(ref _chunksDone);
        foreach (var e in work.Accepted) _accepted.AddOrUpdate(e.Kind, 1, (_, n) => n + 1);
        Interlocked.Add(ref _rejected, work.Rejected.Count);
        foreach (var r in work.Rejected) Rejections.Add(r.Stage, r.Reason);
    }
}

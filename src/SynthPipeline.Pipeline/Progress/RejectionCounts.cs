using System.Collections.Concurrent;

namespace SynthPipeline.Pipeline.Progress;

/// <summary>Rejections per "stage/reason", counted as stages record them; thread-safe.</summary>
public sealed class RejectionCounts
{
    private readonly ConcurrentDictionary<string, long> _counts = new(StringComparer.Ordinal);

    public void Add(string stage, string reason) => _counts.AddOrUpdate($"{stage}/{reason}", 1, (_, n) => n + 1);

    public IReadOnlyDictionary<string, long> Snapshot() => new Dictionary<string, long>(_counts, StringComparer.Ordinal);
}

using SynthPipeline.Core.Augment;
using SynthPipeline.Core.Eval;

namespace SynthPipeline.Pipeline.Eval;

/// <summary>
/// A multi-turn probe: a legitimate question, then a volatile one, then one on a false premise, in one conversation,
/// each turn scored as its kind is. It tests the claim that behaviours trained in separate conversations combine.
/// </summary>
public sealed record CombinationProbe(string Id, IReadOnlyList<Probe> Turns)
{
    /// <summary>
    /// Up to <paramref name="count"/> combinations from the single probes: the i-th legitimate, volatile and
    /// false-premise probes together, so each single probe appears in at most one combination.
    /// </summary>
    public static IReadOnlyList<CombinationProbe> Build(IReadOnlyList<Probe> probes, int count)
    {
        ArgumentNullException.ThrowIfNull(probes);
        var legit = probes.Where(p => p.Kind == ExampleKind.Legitimate).ToList();
        var refusal = probes.Where(p => p.Kind == ExampleKind.Refusal).ToList();
        var negative = probes.Where(p => p.Kind == ExampleKind.Negative).ToList();
        var n = Math.Min(count, Math.Min(legit.Count, Math.Min(refusal.Count, negative.Count)));
        return [.. Enumerable.Range(0, n).Select(i => new CombinationProbe($"combination:{legit[i].Id}+{refusal[i].Id}+{negative[i].Id}", [legit[i], refusal[i], negative[i]]))];
    }
}

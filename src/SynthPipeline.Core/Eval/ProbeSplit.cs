using System.Text;
using SynthPipeline.Core.Augment;

namespace SynthPipeline.Core.Eval;

/// <summary>
/// Holds out a share of a run's examples, per kind, as probes that no training file will contain. Membership follows
/// from (seed, example id) alone, so a resumed or re-exported run holds out the same examples; a kind with two or more
/// examples always gives at least one probe, so that even a small run can be evaluated on every behaviour.
/// </summary>
public static class ProbeSplit
{
    public static (IReadOnlyList<T> HeldOut, IReadOnlyList<T> Kept) Split<T>(IReadOnlyList<T> items, Func<T, ExampleKind> kind, Func<T, string> id, double share, int seed)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(kind);
        ArgumentNullException.ThrowIfNull(id);
        if (share <= 0) return ([], items);
        var held = new HashSet<T>(ReferenceEqualityComparer.Instance as IEqualityComparer<T> ?? EqualityComparer<T>.Default);
        foreach (var group in items.GroupBy(kind))
        {
            var ranked = group.Select(x => (Item: x, Draw: Draw(seed, id(x)))).OrderBy(x => x.Draw).ToList();
            var take = ranked.Count(x => x.Draw < share);
            if (take == 0 && ranked.Count >= 2) take = 1;
            // Never the whole kind: training keeps at least one example of each behaviour.
            take = Math.Min(take, ranked.Count - 1);
            foreach (var x in ranked.Take(take)) held.Add(x.Item);
        }
        return ([.. items.Where(held.Contains)], [.. items.Where(x => !held.Contains(x))]);
    }

    /// <summary>A stable draw in [0, 1) from the seed and an id (FNV-1a, the same in every process).</summary>
    public static double Draw(int seed, string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        var hash = 2166136261u ^ (uint)seed;
        foreach (var b in Encoding.UTF8.GetBytes(id + "|probe"))
            hash = (hash ^ b) * 16777619u;
        return (hash & 0x7FFFFFFF) / (double)0x80000000;
    }
}

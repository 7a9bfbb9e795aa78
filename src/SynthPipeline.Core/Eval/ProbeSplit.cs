using System.Globalization;
using System.Text;
using SynthPipeline.Core.Augment;

namespace SynthPipeline.Core.Eval;

/// <summary>
/// Holds out a share of a run's examples, per kind, as probes that no training file will contain. The unit is the
/// question: examples that ask the same question (several examples of one Self-Instruct instruction do) are held out
/// together, so a probe's question never reaches training through a sibling, and give one probe. Membership follows
/// from (seed, the question's first example id) alone, so a resumed or re-exported run holds out the same examples; a
/// kind with two or more questions always gives at least one probe, and never all of them.
/// </summary>
public static class ProbeSplit
{
    public static (IReadOnlyList<T> HeldOut, IReadOnlyList<T> Kept) Split<T>(IReadOnlyList<T> items, Func<T, ExampleKind> kind, Func<T, string> id,
        Func<T, string> question, double share, int seed)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(kind);
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(question);
        if (share <= 0) return ([], items);
        var groups = items.GroupBy(x => Key(question(x)), StringComparer.Ordinal)
            .Select(g => (Key: g.Key, First: g.OrderBy(id, StringComparer.Ordinal).First())).ToList();
        var held = new HashSet<string>(StringComparer.Ordinal);
        foreach (var ofKind in groups.GroupBy(g => kind(g.First)))
        {
            var ranked = ofKind.Select(g => (g.Key, Draw: Draw(seed, id(g.First)))).OrderBy(g => g.Draw).ThenBy(g => g.Key, StringComparer.Ordinal).ToList();
            var take = ranked.Count(g => g.Draw < share);
            if (take == 0 && ranked.Count >= 2) take = 1;
            // Never a whole kind: training keeps at least one example of each behaviour.
            take = Math.Min(take, ranked.Count - 1);
            foreach (var g in ranked.Take(take)) held.Add(g.Key);
        }
        var probes = groups.Where(g => held.Contains(g.Key)).Select(g => g.First).ToHashSet();
        return ([.. items.Where(probes.Contains)], [.. items.Where(x => !held.Contains(Key(question(x))))]);
    }

    /// <summary>How questions are compared: trimmed, white space collapsed, case folded.</summary>
    public static string Key(string question)
    {
        ArgumentNullException.ThrowIfNull(question);
        return string.Join(' ', question.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)).ToLower(CultureInfo.InvariantCulture);
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

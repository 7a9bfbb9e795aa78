using SynthPipeline.Core.Text;

namespace SynthPipeline.Core.Augment;

/// <summary>One judge answer: a YES/NO per criterion and the judge's reason; null criteria were not answered.</summary>
public sealed record JudgeVerdict(IReadOnlyDictionary<string, bool?> Criteria, string Reason)
{
    /// <summary>Reads "Criterion: YES|NO" lines and a "Reason:" line.</summary>
    public static JudgeVerdict Parse(string text, IReadOnlyList<string> criteria)
    {
        ArgumentNullException.ThrowIfNull(criteria);
        var fields = LabeledFields.All(text, [.. criteria, "Reason"]);
        var values = criteria.ToDictionary(c => c, c =>
        {
            var v = fields.FirstOrDefault(f => f.Label == c).Value;
            if (v is null) return (bool?)null;
            var word = new string(v.SkipWhile(c => !char.IsLetter(c)).TakeWhile(char.IsLetter).ToArray()).ToUpperInvariant();
            return word switch { "YES" or "TRUE" => true, "NO" or "FALSE" => false, _ => null };
        }, StringComparer.Ordinal);
        return new JudgeVerdict(values, fields.FirstOrDefault(f => f.Label == "Reason").Value ?? "");
    }
}

/// <summary>
/// Majority vote of several judge answers over several criteria, decided as early as possible: it accepts once every
/// criterion has more YES votes than half the planned votes, and rejects once some criterion can no longer get them.
/// An unreadable answer counts as NO for every criterion it does not answer.
/// </summary>
public sealed class JudgeTally(IReadOnlyList<string> criteria, int plannedVotes)
{
    private readonly Dictionary<string, int> _yes = criteria.ToDictionary(c => c, _ => 0, StringComparer.Ordinal);
    private readonly Dictionary<string, int> _no = criteria.ToDictionary(c => c, _ => 0, StringComparer.Ordinal);
    private readonly List<string> _reasons = [];

    private int Needed => plannedVotes / 2 + 1;

    public int Votes { get; private set; }

    public void Add(JudgeVerdict verdict)
    {
        ArgumentNullException.ThrowIfNull(verdict);
        Votes++;
        foreach (var c in criteria)
        {
            if (verdict.Criteria.TryGetValue(c, out var v) && v == true) _yes[c]++;
            else _no[c]++;
        }
        if (verdict.Reason.Length > 0) _reasons.Add(verdict.Reason);
    }

    /// <summary>True: accepted; false: rejected; null: more votes needed.</summary>
    public bool? Decision =>
        criteria.All(c => _yes[c] >= Needed) ? true
        : criteria.Any(c => _no[c] > plannedVotes - Needed) ? false
        : null;

    /// <summary>The first criterion that failed its majority, or null.</summary>
    public string? FailedCriterion => criteria.FirstOrDefault(c => _no[c] > plannedVotes - Needed);

    /// <summary>Tally as text, e.g. "Supported 1/3 (reasons: …)".</summary>
    public string Describe() =>
        string.Join(", ", criteria.Select(c => $"{c} {_yes[c]}/{Votes}")) + (_reasons.Count > 0 ? " — " + string.Join(" | ", _reasons.Select(r => TextPreview.Shorten(r, 160))) : "");


}

using System.Text.RegularExpressions;
using SynthPipeline.Core.SelfInstruct;
using SynthPipeline.Core.Text;

namespace SynthPipeline.Core.Augment;

/// <summary>
/// Reads a teacher answer written as labelled fields ("Question: …", "Answer: …"), each value running until the
/// next line that starts with a known label. Labels match case-insensitively; list numbering, bullets, Markdown
/// emphasis and a number after the label ("1. Question:", "**Answer:**", "Question 2:") are allowed, and values lose
/// their emphasis. Text before the first label (a preamble) and closing offers after the last value ("Let me know if
/// you need more!") are not part of any value; the <c>dropped</c> lists say what was left out and why.
/// </summary>
public static class LabeledFields
{
    /// <summary>Reasons for dropped text, stable strings used in reports.</summary>
    public static class Reasons
    {
        public const string Preamble = "preamble";
        public const string ClosingRemark = "closing_remark";
        public const string IncompletePair = "incomplete_pair";
        public const string CutByTokenLimit = "cut_by_token_limit";
    }

    /// <summary>Every (label, value) in order of appearance; values trimmed and unmarked.</summary>
    public static IReadOnlyList<(string Label, string Value)> All(string text, IReadOnlyList<string> labels, List<DroppedText>? dropped = null,
        IReadOnlyDictionary<string, string>? aliases = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(labels);
        var names = labels.Concat(aliases?.Keys ?? []).ToList();
        // Chat models often bold or number their labels ("**Question:**", "1. *Answer*:"); the markup is not part of the value.
        var pattern = new Regex(@"^[ \t]*(?:[-*>#]+[ \t]+)?(?:\d+[.)][ \t]*)?[*_]*(" + string.Join('|', names.Select(Regex.Escape)) + @")(?:[ \t]*\d+)?[*_]*[ \t]*:[*_]*",
            RegexOptions.Multiline | RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
        var matches = pattern.Matches(text);
        var fields = new List<(string, string)>(matches.Count);
        if (matches.Count > 0 && text[..matches[0].Index].Trim() is { Length: > 0 } preamble)
            dropped?.AddRange(preamble.Split('\n').Where(l => l.Trim().Length > 0).Select(l => new DroppedText(l.Trim(), Reasons.Preamble)));
        for (var i = 0; i < matches.Count; i++)
        {
            var start = matches[i].Index + matches[i].Length;
            var end = i + 1 < matches.Count ? matches[i + 1].Index : text.Length;
            var name = matches[i].Groups[1].Value;
            var label = aliases?.FirstOrDefault(a => a.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Value
                        ?? labels.First(l => l.Equals(name, StringComparison.OrdinalIgnoreCase));
            var value = text[start..end];
            if (i == matches.Count - 1)
            {
                var (kept, removed) = ChatText.WithoutClosingRemarks(value);
                value = kept;
                dropped?.AddRange(removed.Select(r => new DroppedText(r, Reasons.ClosingRemark)));
            }
            fields.Add((label, ChatText.Unmark(value.Trim())));
        }
        return fields;
    }

    /// <summary>The first value of each label, or null when a label is missing or empty.</summary>
    public static IReadOnlyDictionary<string, string>? Single(string text, IReadOnlyList<string> labels, List<DroppedText>? dropped = null)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (label, value) in All(text, labels, dropped))
            result.TryAdd(label, value);
        return labels.All(l => result.TryGetValue(l, out var v) && v.Length > 0) ? result : null;
    }

    /// <summary>
    /// Question/answer pairs from "Question: … Answer: …" blocks (also "Q: … A: …"). A block missing either part is
    /// dropped as an incomplete pair; when the generation hit its token limit, the last pair may be cut off and is
    /// dropped too.
    /// </summary>
    public static IReadOnlyList<(string Question, string Answer)> Pairs(string text, bool truncated, string first = "Question", string second = "Answer",
        List<DroppedText>? dropped = null)
    {
        var pairs = new List<(string, string)>();
        string? question = null;
        var aliases = first == "Question" && second == "Answer" ? new Dictionary<string, string> { ["Q"] = first, ["A"] = second } : null;
        foreach (var (label, value) in All(text, [first, second], dropped, aliases))
        {
            if (label == first)
            {
                if (question is { Length: > 0 }) dropped?.Add(new DroppedText(question, Reasons.IncompletePair));
                question = value;
            }
            else if (question is { Length: > 0 } && value.Length > 0)
            {
                pairs.Add((question, value));
                question = null;
            }
            else dropped?.Add(new DroppedText(value, Reasons.IncompletePair));
        }
        if (question is { Length: > 0 }) dropped?.Add(new DroppedText(question, truncated ? Reasons.CutByTokenLimit : Reasons.IncompletePair));
        else if (truncated && pairs.Count > 0)
        {
            dropped?.Add(new DroppedText(pairs[^1].Item1, Reasons.CutByTokenLimit));
            pairs.RemoveAt(pairs.Count - 1);
        }
        return pairs;
    }
}

using System.Text.RegularExpressions;

namespace SynthPipeline.Core.Augment;

/// <summary>
/// Reads a teacher answer written as labelled fields ("Question: …", "Answer: …"), each value running until the
/// next line that starts with a known label. Labels match case-insensitively; list numbering, bullets and Markdown
/// emphasis around a label ("1. Question:", "**Answer:**") are allowed.
/// </summary>
public static class LabeledFields
{
    /// <summary>Every (label, value) in order of appearance; values trimmed.</summary>
    public static IReadOnlyList<(string Label, string Value)> All(string text, IReadOnlyList<string> labels)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(labels);
        // Chat models often bold or number their labels ("**Question:**", "1. *Answer*:"); the markup is not part of the value.
        var pattern = new Regex(@"^[ \t]*(?:[-*>#][ \t]+)?(?:\d+[.)][ \t]*)?[*_]*(" + string.Join('|', labels.Select(Regex.Escape)) + @")[*_]*[ \t]*:[*_]*",
            RegexOptions.Multiline | RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
        var matches = pattern.Matches(text);
        var fields = new List<(string, string)>(matches.Count);
        for (var i = 0; i < matches.Count; i++)
        {
            var start = matches[i].Index + matches[i].Length;
            var end = i + 1 < matches.Count ? matches[i + 1].Index : text.Length;
            var label = labels.First(l => l.Equals(matches[i].Groups[1].Value, StringComparison.OrdinalIgnoreCase));
            fields.Add((label, text[start..end].Trim()));
        }
        return fields;
    }

    /// <summary>The first value of each label, or null when a label is missing or empty.</summary>
    public static IReadOnlyDictionary<string, string>? Single(string text, IReadOnlyList<string> labels)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (label, value) in All(text, labels))
            result.TryAdd(label, value);
        return labels.All(l => result.TryGetValue(l, out var v) && v.Length > 0) ? result : null;
    }

    /// <summary>
    /// Question/answer pairs from "Question: … Answer: …" blocks. A block missing either part is skipped; when the
    /// generation hit its token limit, the last pair may be cut off and is dropped.
    /// </summary>
    public static IReadOnlyList<(string Question, string Answer)> Pairs(string text, bool truncated, string first = "Question", string second = "Answer")
    {
        var pairs = new List<(string, string)>();
        string? question = null;
        foreach (var (label, value) in All(text, [first, second]))
        {
            if (label == first) question = value;
            else if (question is { Length: > 0 } && value.Length > 0)
            {
                pairs.Add((question, value));
                question = null;
            }
        }
        if (truncated && pairs.Count > 0) pairs.RemoveAt(pairs.Count - 1);
        return pairs;
    }
}

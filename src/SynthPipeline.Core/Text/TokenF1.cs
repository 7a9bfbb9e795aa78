using System.Globalization;
using System.Text;

namespace SynthPipeline.Core.Text;

/// <summary>
/// SQuAD's token-overlap F1 between a reply and a reference: both lower-cased, punctuation and the articles a, an and
/// the removed, split on white space; precision and recall count shared tokens with their multiplicity.
/// </summary>
public static class TokenF1
{
    public static double Score(string prediction, string reference)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(reference);
        var predicted = Tokens(prediction);
        var expected = Tokens(reference);
        if (predicted.Count == 0 || expected.Count == 0) return predicted.Count == expected.Count ? 1 : 0;
        var counts = expected.GroupBy(t => t, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var common = 0;
        foreach (var t in predicted)
            if (counts.TryGetValue(t, out var n) && n > 0)
            {
                counts[t] = n - 1;
                common++;
            }
        if (common == 0) return 0;
        var precision = common / (double)predicted.Count;
        var recall = common / (double)expected.Count;
        return 2 * precision * recall / (precision + recall);
    }

    private static List<string> Tokens(string text)
    {
        var b = new StringBuilder(text.Length);
        foreach (var c in text.ToLower(CultureInfo.InvariantCulture))
            b.Append(char.IsPunctuation(c) || char.IsSymbol(c) ? ' ' : c);
        return [.. b.ToString().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Where(t => t is not ("a" or "an" or "the"))];
    }
}

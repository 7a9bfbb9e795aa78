using SynthPipeline.Core.Text;

namespace SynthPipeline.Core.Novelty;

/// <summary>
/// The tokenization of Google's rouge_score with <c>use_stemmer=False</c>, which the Self-Instruct reference uses:
/// lowercase, every run of characters outside [a-z0-9] becomes a space, split on whitespace, drop empty tokens.
/// Lowercasing is Python's <c>str.lower()</c> (<see cref="PythonText.Lower"/>); characters that lowercase outside ASCII become separators.
/// </summary>
public static class RougeTokenizer
{
    public static List<string> Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokens = new List<string>();
        var start = -1;
        var lower = PythonText.Lower(text);
        for (var i = 0; i <= lower.Length; i++)
        {
            var keep = i < lower.Length && IsTokenChar(lower[i]);
            if (keep && start < 0) start = i;
            else if (!keep && start >= 0)
            {
                tokens.Add(lower[start..i]);
                start = -1;
            }
        }
        return tokens;
    }

    private static bool IsTokenChar(char c) => c is >= 'a' and <= 'z' or >= '0' and <= '9';
}

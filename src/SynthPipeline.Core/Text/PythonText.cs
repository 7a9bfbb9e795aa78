using System.Text;

namespace SynthPipeline.Core.Text;

/// <summary>
/// Python's string casing where the reference code depends on it. <c>str.lower()</c> uses Unicode's full case
/// mappings: the one unconditional mapping to more than one character is U+0130 (İ) → "i̇" (i and a combining dot),
/// which .NET's per-character lowering turns into a plain "i". Final sigma, Python's one contextual rule, lowers to a
/// non-ASCII letter either way, which the ROUGE tokenizer treats as a separator.
/// </summary>
public static class PythonText
{
    private const char DottedCapitalI = '\u0130';

    /// <summary><c>s.lower()</c> as Python computes it, for everything ROUGE and the filters can see.</summary>
    public static string Lower(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var lower = text.ToLowerInvariant();
        if (!text.Contains(DottedCapitalI, StringComparison.Ordinal)) return lower;
        var s = new StringBuilder(text.Length + 4);
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == DottedCapitalI) s.Append("i\u0307");
            else s.Append(lower[i]);
        }
        return s.ToString();
    }

    /// <summary><c>s.capitalize()</c>: the first character upper-cased, the rest lowered, as the reference normalises before its prefix check.</summary>
    public static string Capitalize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + Lower(text[1..]);
    }
}

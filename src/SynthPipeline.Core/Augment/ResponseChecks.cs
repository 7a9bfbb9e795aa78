using System.Globalization;
using System.Text;

namespace SynthPipeline.Core.Augment;

/// <summary>Rule checks on generated variants that need no teacher.</summary>
public static class ResponseChecks
{
    /// <summary>Phrases a correction may open with; the negative prompt asks for the first.</summary>
    public static readonly IReadOnlyList<string> DefaultCorrectionOpeners =
    [
        "No", "Actually", "In fact", "Not quite", "Not exactly", "Not really", "That's not", "That is not", "That isn't", "This is not",
        "This isn't", "It's not", "It is not", "It isn't", "That's incorrect", "That is incorrect", "The premise", "Contrary to",
        "Correction", "I'm afraid that", "Unfortunately, that", "That's a misconception", "That is a misconception", "Not so",
    ];

    /// <summary>Whether <paramref name="response"/> opens by correcting: it starts with one of <paramref name="openers"/> as whole words.</summary>
    public static bool StartsWithCorrection(string response, IEnumerable<string> openers)
    {
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(openers);
        var text = response.TrimStart().Replace('’', '\'');
        return openers.Any(o => text.StartsWith(o, StringComparison.OrdinalIgnoreCase)
            && (text.Length == o.Length || !char.IsLetterOrDigit(text[o.Length])));
    }

    /// <summary>
    /// The opening of a response, for counting how varied refusals are: its first <paramref name="words"/> words,
    /// lower-cased, punctuation removed.
    /// </summary>
    public static string Opening(string response, int words = 4)
    {
        ArgumentNullException.ThrowIfNull(response);
        var b = new StringBuilder();
        foreach (var c in response.Replace('’', '\'').ToLower(CultureInfo.InvariantCulture))
            b.Append(char.IsLetterOrDigit(c) || c == '\'' ? c : ' ');
        return string.Join(' ', b.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries).Take(words));
    }
}

using System.Text.RegularExpressions;

namespace SynthPipeline.Core.SelfInstruct;

/// <summary>What the teacher said to "Is it classification?".</summary>
public enum ClassificationVerdict
{
    Yes,
    No,
    /// <summary>Neither, or both: the answer is recorded and the task treated as not classification.</summary>
    Ambiguous,
}

/// <summary>
/// Reads the classification answer tolerantly: "Yes", "Yes.", "**Yes**", "yes, it is", "Answer: No". The first
/// yes or no word decides when the other does not also appear before the first sentence ends.
/// </summary>
public static partial class ClassificationAnswer
{
    [GeneratedRegex(@"\b(yes|no)\b", RegexOptions.IgnoreCase)]
    private static partial Regex YesOrNo();

    public static ClassificationVerdict Read(string answer)
    {
        ArgumentNullException.ThrowIfNull(answer);
        var plain = InstructionListParser.Unmark(answer);
        var end = plain.IndexOfAny(['\n', '.', '!', '?']);
        var sentence = end < 0 ? plain : plain[..end];
        var words = YesOrNo().Matches(sentence).Select(m => m.Value.ToLowerInvariant()).Distinct().ToList();
        return words switch
        {
            ["yes"] => ClassificationVerdict.Yes,
            ["no"] => ClassificationVerdict.No,
            _ => ClassificationVerdict.Ambiguous,
        };
    }
}

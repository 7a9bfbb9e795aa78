using System.Text.RegularExpressions;

namespace SynthPipeline.Core.SelfInstruct;

/// <summary>
/// Splits a teacher's continuation of a numbered task list into items, the way Self-Instruct does
/// (<c>re.split(r"\n\d+\s?\. ", text)</c>). When the generation stopped at its token limit, the last item is
/// incomplete and is dropped, as Alpaca does.
/// </summary>
public static partial class NumberedListParser
{
    [GeneratedRegex(@"\n\d+\s?\. ")]
    private static partial Regex ItemSeparator();

    /// <param name="continuation">Text that continues a prompt ending in "N." (so it starts with item N's text).</param>
    /// <param name="truncated">The generation ended because of the token limit.</param>
    public static IReadOnlyList<string> Parse(string continuation, bool truncated)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        var items = ItemSeparator().Split(continuation).ToList();
        if (truncated && items.Count > 0) items.RemoveAt(items.Count - 1);
        return items.Select(i => i.Trim()).Where(i => i.Length > 0).ToList();
    }
}

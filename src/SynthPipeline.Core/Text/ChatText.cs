using System.Text.RegularExpressions;

namespace SynthPipeline.Core.Text;

/// <summary>What chat models wrap around the content they were asked for: markdown emphasis, and closing offers of help.</summary>
public static partial class ChatText
{
    [GeneratedRegex(@"(\*\*|__)(.+?)\1")]
    private static partial Regex StrongEmphasis();

    [GeneratedRegex(@"(?<![\w*])\*(?![\s*])([^*\n]+?)(?<![\s*])\*(?![\w*])")]
    private static partial Regex Emphasis();

    [GeneratedRegex(@"^(?:let me know|i hope|hope (?:this|these|that)|feel free|if you (?:need|want|would like|have)|would you like|do you want|happy to help|glad to help|is there anything)", RegexOptions.IgnoreCase)]
    private static partial Regex Closer();

    /// <summary>Markdown emphasis and stray bold markers removed; what is left is the text as a person would type it.</summary>
    public static string Unmark(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var plain = Emphasis().Replace(StrongEmphasis().Replace(text, "$2"), "$1");
        return plain.Replace("**", "", StringComparison.Ordinal).Trim();
    }

    /// <summary>A line that offers more help or hopes it helped, rather than carrying content.</summary>
    public static bool IsClosingRemark(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        return Closer().IsMatch(Unmark(line.Trim()));
    }

    /// <summary>
    /// <paramref name="text"/> without the closing remarks after its last blank line (or its last line), and the
    /// remarks that were removed.
    /// </summary>
    public static (string Text, IReadOnlyList<string> Removed) WithoutClosingRemarks(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var lines = text.TrimEnd().Split('\n').ToList();
        var removed = new List<string>();
        while (lines.Count > 1 && (lines[^1].Trim().Length == 0 || IsClosingRemark(lines[^1])))
        {
            if (lines[^1].Trim().Length > 0) removed.Insert(0, lines[^1].Trim());
            lines.RemoveAt(lines.Count - 1);
        }
        return (string.Join('\n', lines).Trim(), removed);
    }
}

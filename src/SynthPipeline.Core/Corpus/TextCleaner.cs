using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace SynthPipeline.Core.Corpus;

/// <summary>
/// Turns a document's raw text into the plain text that is chunked and shown to the teacher: HTML loses its markup,
/// scripts and styles; Markdown loses link targets, images and emphasis marks; every kind gets one newline
/// convention, no control characters, no trailing spaces and at most one blank line in a row. Provenance spans
/// refer to this cleaned text, which the run keeps next to the dataset.
/// </summary>
public static partial class TextCleaner
{
    [GeneratedRegex(@"<(script|style|noscript|template|svg|head)\b[^>]*>.*?</\1\s*>", RegexOptions.IgnoreCase | RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex HtmlInvisible();

    [GeneratedRegex(@"<!--.*?-->|<!DOCTYPE[^>]*>", RegexOptions.IgnoreCase | RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex HtmlComment();

    [GeneratedRegex(@"<\s*(br|/?p|/?div|/?li|/?ul|/?ol|/?h[1-6]|/?tr|/?table|/?section|/?article|/?blockquote|/?pre|/?header|/?footer|/?title|hr)\b[^>]*>", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex HtmlBlock();

    [GeneratedRegex(@"<[^>]*>", RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex HtmlTag();

    [GeneratedRegex(@"!\[([^\]]*)\]\([^)]*\)", RegexOptions.CultureInvariant)]
    private static partial Regex MarkdownImage();

    [GeneratedRegex(@"\[([^\]]+)\]\([^)]*\)", RegexOptions.CultureInvariant)]
    private static partial Regex MarkdownLink();

    [GeneratedRegex(@"^[ \t]{0,3}(#{1,6}[ \t]+|>[ \t]?|[-*+][ \t]+(?=\S)|```.*$|~~~.*$)", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex MarkdownLinePrefix();

    [GeneratedRegex(@"(\*\*|__|`)", RegexOptions.CultureInvariant)]
    private static partial Regex MarkdownEmphasis();

    [GeneratedRegex(@"[ \t\u00A0]+", RegexOptions.CultureInvariant)]
    private static partial Regex Spaces();

    [GeneratedRegex(@"\n{3,}", RegexOptions.CultureInvariant)]
    private static partial Regex BlankLines();

    /// <summary>Plain text from HTML.</summary>
    public static string FromHtml(string html)
    {
        ArgumentNullException.ThrowIfNull(html);
        var s = HtmlComment().Replace(html, " ");
        s = HtmlInvisible().Replace(s, " ");
        s = HtmlBlock().Replace(s, "\n");
        s = HtmlTag().Replace(s, " ");
        return Normalize(WebUtility.HtmlDecode(s));
    }

    /// <summary>Plain text from Markdown: the words stay, the syntax goes.</summary>
    public static string FromMarkdown(string markdown)
    {
        ArgumentNullException.ThrowIfNull(markdown);
        var s = MarkdownImage().Replace(markdown, "$1");
        s = MarkdownLink().Replace(s, "$1");
        s = MarkdownLinePrefix().Replace(s, "");
        s = MarkdownEmphasis().Replace(s, "");
        return Normalize(s);
    }

    /// <summary>One newline convention, no control characters, single spaces, no blank-line runs, trimmed.</summary>
    public static string Normalize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var b = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\r')
            {
                b.Append('\n');
                if (i + 1 < text.Length && text[i + 1] == '\n') i++;
            }
            else if (c == '\f' || c == '\v') b.Append('\n');
            else if (c == '\n' || c == '\t' || !char.IsControl(c)) b.Append(c);
        }
        var lines = Spaces().Replace(b.ToString(), " ").Split('\n').Select(l => l.Trim());
        return BlankLines().Replace(string.Join('\n', lines), "\n\n").Trim();
    }
}

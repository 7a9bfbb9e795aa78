using System.Text.RegularExpressions;
using SynthPipeline.Core.Text;

namespace SynthPipeline.Core.SelfInstruct;

/// <summary>A line or block of a teacher's answer that was not taken, and why.</summary>
/// <param name="Text">What was dropped, as written.</param>
/// <param name="Reason">A stable reason: <c>InstructionListParser.Reasons</c> or <c>InstanceBlockParser.Reasons</c>.</param>
public sealed record DroppedText(string Text, string Reason);

/// <summary>The numbered items of an answer and every line that was not one, with its reason.</summary>
public sealed record ParsedList(IReadOnlyList<string> Items, IReadOnlyList<DroppedText> Dropped);

/// <summary>
/// Reads a teacher's continuation of a numbered task list the way chat models actually write it. Only numbered items
/// count: <c>9.</c>, <c>9)</c>, <c>9:</c>, <c>**9.**</c>, <c>Task 9:</c>, a leading bullet, and markdown emphasis
/// around the item are all accepted. Text before the first item is the first item itself when the answer continues
/// the prompt's open "N." (as the reference's completion models did, and the list goes on at N+1), and a preamble
/// otherwise ("Sure! Here are 7 more tasks:"). A blank line ends an item; what follows it unnumbered is chatter
/// ("Let me know if you need more!"). Every dropped line comes back with its reason. With a completion-style answer
/// (no markup, items on single lines) the items are those of the reference's <c>re.split(r"\n\d+\s?\. ", text)</c>.
/// </summary>
public static partial class InstructionListParser
{
    /// <summary>Reasons for dropped text, stable strings used in reports.</summary>
    public static class Reasons
    {
        public const string Preamble = "preamble";
        public const string ClosingRemark = "closing_remark";
        public const string NotAnInstruction = "not_an_instruction";
        public const string CutByTokenLimit = "cut_by_token_limit";
        public const string Refusal = "refusal";
    }

    [GeneratedRegex(@"^(?:i'?m sorry|i am sorry|sorry\b|i can(?:'|no)?t\b|i cannot|i'?m (?:not able|unable)|as an ai|unfortunately)", RegexOptions.IgnoreCase)]
    private static partial Regex RefusalLike();

    [GeneratedRegex(@"^\s*(?:[-*•]\s+)?(?:\*\*|__)?\s*(?:(?:Task|Instruction)\s*#?\s*)?(\d{1,3})\s*(?:\.(?!\d)|\)|:)\s*(?:\*\*|__)?\s*(.*)$", RegexOptions.IgnoreCase)]
    private static partial Regex NumberedLine();

    [GeneratedRegex(@"^(?:sure|certainly|of course|absolutely|okay|ok|great|here(?:'s| is| are)|below|i(?:'d| would| will|'ll) (?:be happy|gladly)|happy to|these are)\b|:\s*$", RegexOptions.IgnoreCase)]
    private static partial Regex PreambleLike();

    [GeneratedRegex(@"^(?:#+\s|[-=*_]{3,}\s*$|```)")]
    private static partial Regex MarkupLine();

    /// <param name="continuation">The answer to a prompt ending in "<paramref name="openNumber"/>.".</param>
    /// <param name="openNumber">The number the prompt left open.</param>
    /// <param name="truncated">The answer ended at its token limit: its last item is incomplete.</param>
    public static ParsedList Parse(string continuation, int openNumber, bool truncated)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        var dropped = new List<DroppedText>();
        var items = new List<(int? Number, List<string> Lines)>();
        var lead = new List<string>();
        var afterBlank = false;
        foreach (var raw in continuation.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n'))
        {
            var line = raw.TrimEnd();
            if (line.Trim().Length == 0)
            {
                afterBlank = items.Count > 0 || lead.Count > 0;
                continue;
            }
            var numbered = NumberedLine().Match(line);
            if (numbered.Success && numbered.Groups[2].Value.Trim().Length > 0)
            {
                items.Add((int.Parse(numbered.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), [numbered.Groups[2].Value]));
                afterBlank = false;
                continue;
            }
            if (MarkupLine().IsMatch(line.TrimStart()))
            {
                dropped.Add(new DroppedText(line.Trim(), Reasons.NotAnInstruction));
                continue;
            }
            if (items.Count == 0)
            {
                if (afterBlank && lead.Count > 0)
                {
                    // A blank line after the opening text: that text was a preamble, this is more of it.
                    dropped.AddRange(lead.Select(l => new DroppedText(l.Trim(), Reasons.Preamble)));
                    lead.Clear();
                }
                lead.Add(line);
                afterBlank = false;
            }
            else if (afterBlank) dropped.Add(new DroppedText(line.Trim(), Reasons.ClosingRemark));
            else items[^1].Lines.Add(line);
        }

        // The opening text is item N itself only when it reads like one and the list does not restart at N.
        if (lead.Count > 0)
        {
            var text = string.Join("\n", lead).Trim();
            var restartsAtOpen = items.Count > 0 && items[0].Number == openNumber;
            if (RefusalLike().IsMatch(text)) dropped.InsertRange(0, lead.Select(l => new DroppedText(l.Trim(), Reasons.Refusal)));
            else if (!restartsAtOpen && !PreambleLike().IsMatch(text)) items.Insert(0, (openNumber, [.. lead]));
            else dropped.InsertRange(0, lead.Select(l => new DroppedText(l.Trim(), Reasons.Preamble)));
        }
        if (truncated && items.Count > 0)
        {
            dropped.Add(new DroppedText(Join(items[^1].Lines), Reasons.CutByTokenLimit));
            items.RemoveAt(items.Count - 1);
        }
        var result = new List<string>();
        foreach (var (_, lines) in items)
        {
            var text = Unmark(Join(lines));
            if (text.Length > 0) result.Add(text);
        }
        return new ParsedList(result, dropped);
    }

    private static string Join(List<string> lines) => string.Join("\n", lines).Trim();

    /// <summary>Markdown emphasis removed (<see cref="ChatText.Unmark"/>).</summary>
    public static string Unmark(string text) => ChatText.Unmark(text);
}

using System.Text.RegularExpressions;
using SynthPipeline.Core.Text;

namespace SynthPipeline.Core.SelfInstruct;

/// <summary>The examples read from an answer, and every block that gave none, with its reason.</summary>
public sealed record ParsedInstances(IReadOnlyList<(string Input, string Output)> Instances, IReadOnlyList<DroppedText> Dropped);

/// <summary>
/// Reads a teacher's examples of a task in the reference's formats and in the shapes chat models write them.
/// Input-first: blocks separated by <c>Example N</c> (with or without a colon, period, markdown bold or heading marks),
/// each with <c>Input:</c> (or <c>Input N:</c>) and <c>Output:</c> (or <c>Output N:</c>); an output ends at a following
/// <c>Input:</c>, as in the reference. Output-first: <c>Class label: L</c> (or <c>Label:</c>, <c>Output:</c>) then the
/// input, which may be field-named ("Sentence: Great!"). Preambles, closing offers and blocks without the needed
/// field are returned as <see cref="ParsedInstances.Dropped"/>, each with its reason; nothing is dropped silently.
/// </summary>
public static partial class InstanceBlockParser
{
    /// <summary>Reasons for dropped text, stable strings used in reports.</summary>
    public static class Reasons
    {
        public const string Preamble = "preamble";
        public const string ClosingRemark = "closing_remark";
        public const string NoOutput = "no_output";
        public const string NoLabel = "no_label";
        public const string CutByTokenLimit = "cut_by_token_limit";
    }

    [GeneratedRegex(@"^\s*(?:#+\s*)?(?:\*\*|__)?\s*Example\s*\d*\s*[:.]?\s*(?:\*\*|__)?\s*:?\s*$", RegexOptions.IgnoreCase)]
    private static partial Regex ExampleHeading();

    [GeneratedRegex(@"^\s*(?:[-*]\s+)?(?:\*\*|__)?\s*(Input|Output|Class label|Label)\s*\d*\s*(?:\*\*|__)?\s*:\s*(?:\*\*|__)?\s*(.*)$", RegexOptions.IgnoreCase)]
    private static partial Regex FieldLine();

    /// <summary>Input-first answers: the prompt ended with "Example 1", so the text usually starts at "Input:".</summary>
    public static ParsedInstances ParseInputFirst(string continuation, bool truncated)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        var dropped = new List<DroppedText>();
        var blocks = new List<Block>();
        Block? current = null;
        var preamble = new List<string>();
        foreach (var line in Lines(CutAtNextTask(continuation)))
        {
            if (ExampleHeading().IsMatch(line))
            {
                current = Start(blocks);
                continue;
            }
            var field = FieldLine().Match(line);
            if (field.Success)
            {
                var name = field.Groups[1].Value.ToLowerInvariant();
                var value = field.Groups[2].Value;
                if (name == "input")
                {
                    // An input after an output starts the next example (the reference cuts the output there).
                    if (current is null || current.Output is not null || current.Input is not null) current = Start(blocks);
                    current.Input = [value];
                    current.Last = current.Input;
                }
                else if (name == "output")
                {
                    current ??= Start(blocks);
                    current.Output = [value];
                    current.Last = current.Output;
                }
                else (current ??= Start(blocks)).Other.Add(line.Trim());
                continue;
            }
            if (current is null)
            {
                if (line.Trim().Length > 0) preamble.Add(line.Trim());
                continue;
            }
            if (line.Trim().Length > 0 && ChatText.IsClosingRemark(line) && current.Output is not null)
            {
                dropped.Add(new DroppedText(line.Trim(), Reasons.ClosingRemark));
                current.Closed = true;
                continue;
            }
            if (current.Closed) { if (line.Trim().Length > 0) dropped.Add(new DroppedText(line.Trim(), Reasons.ClosingRemark)); continue; }
            if (current.Last is not null) current.Last.Add(line);
            else if (line.Trim().Length > 0) current.Other.Add(line.Trim());
        }
        dropped.InsertRange(0, preamble.Select(p => new DroppedText(p, Reasons.Preamble)));
        if (truncated && blocks.Count > 0)
        {
            dropped.Add(new DroppedText(blocks[^1].Describe(), Reasons.CutByTokenLimit));
            blocks.RemoveAt(blocks.Count - 1);
        }
        var instances = new List<(string, string)>();
        foreach (var block in blocks)
        {
            if (block.Output is null)
            {
                if (block.Describe().Length > 0) dropped.Add(new DroppedText(block.Describe(), Reasons.NoOutput));
                continue;
            }
            instances.Add((Clean(block.Input), Clean(block.Output)));
        }
        return new ParsedInstances(instances, dropped);
    }

    /// <summary>
    /// Output-first answers: the prompt ended with "Class label:", so the text usually starts with the first label.
    /// Everything after a label line up to the next label is its input; a leading "Input:" is removed, and a
    /// field-named input ("Sentence: Great!") is kept whole, as the reference keeps such inputs.
    /// </summary>
    public static ParsedInstances ParseOutputFirst(string continuation, bool truncated)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        var dropped = new List<DroppedText>();
        var pairs = new List<(string Label, List<string> Input)>();
        var lines = Lines(CutAtNextTask(continuation)).ToList();
        var first = true;
        foreach (var raw in lines)
        {
            var line = raw.Trim();
            if (ExampleHeading().IsMatch(line)) continue;
            var field = FieldLine().Match(line);
            var name = field.Success ? field.Groups[1].Value.ToLowerInvariant() : null;
            if (name is "class label" or "label" or "output")
            {
                pairs.Add((Unmark(field.Groups[2].Value), []));
                first = false;
                continue;
            }
            if (first)
            {
                first = false;
                // The answer continues "Class label:" directly: this line is the first label, unless it is a preamble.
                if (line.Length > 0 && !line.EndsWith(':') && field.Success is false && line.Split(' ').Length <= 6)
                {
                    pairs.Add((Unmark(line), []));
                    continue;
                }
                if (line.Length > 0 && !field.Success)
                {
                    dropped.Add(new DroppedText(line, Reasons.Preamble));
                    continue;
                }
            }
            if (pairs.Count == 0)
            {
                if (line.Length > 0) dropped.Add(new DroppedText(line, field.Success ? Reasons.NoLabel : Reasons.Preamble));
                continue;
            }
            if (line.Length > 0 && ChatText.IsClosingRemark(line))
            {
                dropped.Add(new DroppedText(line, Reasons.ClosingRemark));
                continue;
            }
            if (name == "input") pairs[^1].Input.Add(field.Groups[2].Value);
            else pairs[^1].Input.Add(raw);
        }
        if (truncated && pairs.Count > 0)
        {
            dropped.Add(new DroppedText(pairs[^1].Label, Reasons.CutByTokenLimit));
            pairs.RemoveAt(pairs.Count - 1);
        }
        var instances = new List<(string, string)>();
        foreach (var (label, input) in pairs)
        {
            if (label.Length == 0)
            {
                dropped.Add(new DroppedText(Clean(input), Reasons.NoLabel));
                continue;
            }
            instances.Add((Clean(input), label));
        }
        return new ParsedInstances(instances, dropped);
    }

    private static Block Start(List<Block> blocks)
    {
        var block = new Block();
        blocks.Add(block);
        return block;
    }

    private static IEnumerable<string> Lines(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');

    private static string Clean(List<string>? lines) => lines is null ? "" : Unmark(string.Join("\n", lines).Trim());

    private static string Unmark(string text) => InstructionListParser.Unmark(text).Trim().Trim('"').Trim();

    private static string CutAtNextTask(string text)
    {
        var at = text.IndexOf("\nTask:", StringComparison.Ordinal);
        return at < 0 ? text : text[..at];
    }

    private sealed class Block
    {
        public List<string>? Input { get; set; }
        public List<string>? Output { get; set; }
        public List<string>? Last { get; set; }
        public List<string> Other { get; } = [];
        public bool Closed { get; set; }

        public string Describe() => string.Join(" | ", new[] { Input is null ? null : "input: " + string.Join("\n", Input).Trim(), Output is null ? null : "output: " + string.Join("\n", Output).Trim() }
            .Concat(Other).Where(s => !string.IsNullOrWhiteSpace(s)));
    }
}

using System.Text.RegularExpressions;

namespace SynthPipeline.Pipeline.SelfInstruct;

/// <summary>One generated example of a task.</summary>
public sealed record TaskInstance(string Input, string Output);

/// <summary>Reads the teacher's examples in the two Self-Instruct formats (see prompts/instances-*.txt).</summary>
public static partial class InstanceParser
{
    [GeneratedRegex(@"\n\s*Example \d+\s*\n")]
    private static partial Regex ExampleSeparator();

    [GeneratedRegex(@"\n\s*Class label:")]
    private static partial Regex LabelSeparator();

    /// <summary>Input-first: the text continues "Example 1\n" with "Input: …\nOutput: …" blocks.</summary>
    public static IReadOnlyList<TaskInstance> ParseInputFirst(string continuation, bool truncated)
    {
        var blocks = ExampleSeparator().Split("\n" + CutAtNextTask(continuation)).Where(b => b.Trim().Length > 0).ToList();
        if (truncated && blocks.Count > 0) blocks.RemoveAt(blocks.Count - 1);
        var result = new List<TaskInstance>();
        foreach (var block in blocks)
        {
            var at = block.IndexOf("Output:", StringComparison.Ordinal);
            if (at < 0) continue;
            var input = block[..at].Trim();
            if (input.StartsWith("Input:", StringComparison.Ordinal)) input = input["Input:".Length..].Trim();
            result.Add(new TaskInstance(input, block[(at + "Output:".Length)..].Trim()));
        }
        return result;
    }

    /// <summary>Output-first: the text continues "Class label:" with "label\nInput: …" pairs; the label is the output.</summary>
    public static IReadOnlyList<TaskInstance> ParseOutputFirst(string continuation, bool truncated)
    {
        var blocks = LabelSeparator().Split("\n" + CutAtNextTask(continuation)).Where(b => b.Trim().Length > 0).ToList();
        if (truncated && blocks.Count > 0) blocks.RemoveAt(blocks.Count - 1);
        var result = new List<TaskInstance>();
        foreach (var block in blocks)
        {
            var at = block.IndexOf("Input:", StringComparison.Ordinal);
            var label = (at < 0 ? block : block[..at]).Trim();
            if (label.StartsWith("Class label:", StringComparison.Ordinal)) label = label["Class label:".Length..].Trim();
            var input = at < 0 ? "" : block[(at + "Input:".Length)..].Trim();
            result.Add(new TaskInstance(input, label));
        }
        return result;
    }

    private static string CutAtNextTask(string text)
    {
        var at = text.IndexOf("\nTask:", StringComparison.Ordinal);
        return at < 0 ? text : text[..at];
    }
}

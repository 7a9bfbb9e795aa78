using SynthPipeline.Core.SelfInstruct;

namespace SynthPipeline.Pipeline.SelfInstruct;

/// <summary>One generated example of a task.</summary>
public sealed record TaskInstance(string Input, string Output);

/// <summary>The examples of an answer, and the blocks and lines that gave none, with their reasons.</summary>
public sealed record InstanceAnswer(IReadOnlyList<TaskInstance> Instances, IReadOnlyList<DroppedText> Dropped);

/// <summary>Reads the teacher's examples in the two Self-Instruct formats (see prompts/instances-*.txt) and the shapes chat models give them.</summary>
public static class InstanceParser
{
    /// <summary>Input-first: the text continues "Example 1" with "Input: …\nOutput: …" blocks.</summary>
    public static InstanceAnswer ParseInputFirst(string continuation, bool truncated) => Map(InstanceBlockParser.ParseInputFirst(continuation, truncated));

    /// <summary>Output-first: the text continues "Class label:" with "label\nInput: …" pairs; the label is the output.</summary>
    public static InstanceAnswer ParseOutputFirst(string continuation, bool truncated) => Map(InstanceBlockParser.ParseOutputFirst(continuation, truncated));

    private static InstanceAnswer Map(ParsedInstances parsed) => new([.. parsed.Instances.Select(i => new TaskInstance(i.Input, i.Output))], parsed.Dropped);
}

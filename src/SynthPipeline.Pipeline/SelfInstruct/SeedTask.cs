using SynthPipeline.Core;
namespace SynthPipeline.Pipeline.SelfInstruct;

/// <summary>One input/output example of a seed task.</summary>
public sealed record SeedInstance(string Input, string Output);

/// <summary>A seed task in the Self-Instruct schema; <see cref="Source"/> is "file:line" for messages.</summary>
public sealed record SeedTask(string Id, string Name, string Instruction, IReadOnlyList<SeedInstance> Instances, bool IsClassification, string Source);

/// <summary>A seed file that cannot be used; the message names the file, the line and the defect.</summary>
public sealed class SeedFormatException : UserErrorException
{
    public SeedFormatException(string file, int line, string defect)
        : base(line > 0 ? $"{file}:{line}: {defect}" : $"{file}: {defect}")
    {
        File = file;
        Line = line;
        Defect = defect;
    }

    public string File { get; }

    public int Line { get; }

    public string Defect { get; }
}

using SynthPipeline.Core;
namespace SynthPipeline.Llama.Gguf;

/// <summary>A file is not a valid GGUF model. The message names the file, the defect and the byte offset.</summary>
public sealed class GgufFormatException : UserErrorException
{
    public GgufFormatException(string path, long offset, string defect)
        : base($"'{path}' is not a valid GGUF file: {defect} (at byte {offset})")
    {
        FilePath = path;
        Offset = offset;
        Defect = defect;
    }

    public string FilePath { get; }

    public long Offset { get; }

    public string Defect { get; }
}

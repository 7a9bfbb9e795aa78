using SynthPipeline.Core;

namespace SynthPipeline.Llama;

/// <summary>A model, context or adapter could not be created; the message names the file and the cause.</summary>
public sealed class LlamaModelException : UserErrorException
{
    public LlamaModelException(string message, Exception? inner = null) : base(message, inner!) { }
}

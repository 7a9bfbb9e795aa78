namespace SynthPipeline.Llama;

/// <summary>The llama.cpp native libraries are missing, incomplete or of the wrong version. The message says what to run.</summary>
public sealed class LlamaNativeLibraryException : Exception
{
    public LlamaNativeLibraryException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>A model, context or adapter could not be created; the message names the file and the cause.</summary>
public sealed class LlamaModelException : Exception
{
    public LlamaModelException(string message, Exception? inner = null) : base(message, inner) { }
}

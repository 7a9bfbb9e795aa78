using SynthPipeline.Core;

namespace SynthPipeline.Llama.Native;

/// <summary>The llama.cpp native libraries are missing, incomplete or of the wrong version. The message says what to run.</summary>
public sealed class LlamaNativeLibraryException : UserErrorException
{
    public LlamaNativeLibraryException(string message, Exception? inner = null) : base(message, inner!) { }
}

namespace SynthPipeline.Llama.Engine;

/// <summary>
/// A sampled token whose text, stop sequences and callbacks are still to be handled. <paramref name="Admission"/>
/// tells whether the slot still serves the request that sampled it; <paramref name="End"/> is set when the token
/// already ends the request (end of generation, token limit), so that it is not decoded.
/// </summary>
internal readonly record struct AcceptedToken(EngineSequence Slot, long Admission, int Token, GenerationFinish? End);

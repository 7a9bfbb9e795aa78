namespace SynthPipeline.Llama.Teacher;

/// <summary>Settings of <see cref="LlamaChatClient"/> that do not change per request.</summary>
public sealed record LlamaChatClientOptions
{
    /// <summary>The continuous-batching engine: parallel sequences, context, batch sizes, KV type, sampling path.</summary>
    public Engine.EngineOptions Engine { get; init; } = new();

    /// <summary>Sampling used where a request's <c>ChatOptions</c> say nothing.</summary>
    public SamplingSettings DefaultSampling { get; init; } = new();

    public int DefaultMaxOutputTokens { get; init; } = 512;

    /// <summary>A llama.cpp built-in template name overriding the model's template; null uses the model's.</summary>
    public string? ChatTemplate { get; init; }

    /// <summary>GGUF LoRA adapters applied to every request, with their scales.</summary>
    public IReadOnlyList<(string Path, float Scale)> LoraAdapters { get; init; } = [];

    /// <summary>Reported as the model id; defaults to the model file name.</summary>
    public string? ModelId { get; init; }
}

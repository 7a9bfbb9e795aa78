namespace SynthPipeline.Llama.Engine;

/// <summary>
/// A snapshot of <see cref="BatchedEngine"/> for progress displays and logs. Rates cover the last few seconds;
/// totals cover the engine's life.
/// </summary>
/// <param name="QueueDepth">Requests waiting for a free sequence slot.</param>
/// <param name="ActiveSequences">Sequences being prompt-processed or generating.</param>
/// <param name="PromptTokensPerSecond">Prompt tokens computed per second (reused prefix tokens are not counted).</param>
/// <param name="GeneratedTokensPerSecond">Tokens sampled per second across all sequences.</param>
/// <param name="KvPositionsHeld">KV positions held by all sequences, active and cached; a shared prefix counts once per sequence.</param>
/// <param name="KvPositionsCapacity">Sequence slots (parallel and prefix-cache) × context per sequence.</param>
/// <param name="PromptTokensProcessed">Prompt tokens computed.</param>
/// <param name="PromptTokensReused">Prompt tokens whose KV was shared from another sequence or kept from an earlier request.</param>
/// <param name="GeneratedTokens">Tokens sampled.</param>
/// <param name="BackendSampledTokens">Of those, tokens sampled inside the compute graph.</param>
/// <param name="Decodes">llama_decode calls.</param>
/// <param name="Completed">Requests that finished normally.</param>
/// <param name="Failed">Requests that failed or were cancelled.</param>
public sealed record EngineMetrics(
    int QueueDepth,
    int ActiveSequences,
    double PromptTokensPerSecond,
    double GeneratedTokensPerSecond,
    long KvPositionsHeld,
    long KvPositionsCapacity,
    long PromptTokensProcessed,
    long PromptTokensReused,
    long GeneratedTokens,
    long BackendSampledTokens,
    long Decodes,
    long Completed,
    long Failed)
{
    /// <summary>Time inside llama_decode (on a GPU, queuing the step; the wait for it falls in <see cref="SamplingSeconds"/>).</summary>
    public double DecodeSeconds { get; init; }

    /// <summary>Time reading logits and running the sampler chains.</summary>
    public double SamplingSeconds { get; init; }

    /// <summary>Time turning sampled tokens into text, matching stop sequences and calling back.</summary>
    public double TextSeconds { get; init; }

    /// <summary>Time the engine waited with nothing to decode: every sequence slot free, or each waiting on a prefix another computes. A pipeline that keeps the engine busy keeps this near zero.</summary>
    public double IdleSeconds { get; init; }

    /// <summary>CPU draws of finished requests that bounded candidates could not settle and that went over the whole vocabulary (<see cref="LlamaSampler.WholeVocabularyDraws"/>).</summary>
    public long WholeVocabularyDraws { get; init; }

    /// <summary>Tokens drawn on the CPU from the k candidates an in-graph top-k cut left (<see cref="EngineOptions.TopKInGraph"/>).</summary>
    public long GraphCutDraws { get; init; }

    /// <summary>Share of KV positions held, 0 to 1.</summary>
    public double KvUse => KvPositionsCapacity == 0 ? 0 : (double)KvPositionsHeld / KvPositionsCapacity;
}

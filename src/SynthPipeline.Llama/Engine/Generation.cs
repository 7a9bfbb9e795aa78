using SynthPipeline.Core;
namespace SynthPipeline.Llama.Engine;

/// <summary>Why a generation ended.</summary>
public enum GenerationFinish
{
    /// <summary>The model emitted an end-of-generation token.</summary>
    EndOfTurn,
    /// <summary>A stop sequence was produced (and not emitted).</summary>
    StopSequence,
    /// <summary>The token limit or the context's end was reached.</summary>
    Length,
}

/// <summary>
/// One generation: prompt tokens, sampling, token limit and stop sequences. <see cref="IgnoreEndOfGeneration"/> keeps
/// generating past end-of-turn tokens (for benchmarks that must produce exactly <see cref="MaxTokens"/>).
/// </summary>
public sealed record GenerationRequest(IReadOnlyList<int> PromptTokens, SamplingSettings Sampling, int MaxTokens, IReadOnlyList<string> StopSequences)
{
    public bool IgnoreEndOfGeneration { get; init; }

    /// <summary>Called with every sampled token, on the generating thread (keep it trivial: counters, timestamps).</summary>
    public Action<int>? OnToken { get; init; }

    /// <summary>
    /// Tokens emitted in place of the sampled ones, in order; the request then ends as at an end-of-turn token. Every
    /// step still decodes and samples, so the request costs what a model answering these tokens would: a rehearsal
    /// of a workload on a model whose own text is noise (random weights of a real shape). Not with a grammar.
    /// </summary>
    public IReadOnlyList<int>? ForcedTokens { get; init; }

    /// <summary>
    /// Admission order among waiting requests: lower first (vLLM's convention), submission order within a priority.
    /// A pipeline gives its later stages the lower number, so the work it started finishes before new work begins.
    /// </summary>
    public int Priority { get; init; }

    /// <summary>
    /// Report each generated token's log-probability under the model, with this many of the most likely tokens at
    /// its position (0 to <see cref="TokenLogprob.MaxTop"/>); null reports none. Such a request samples on the CPU,
    /// where the whole row of logits is read, even where others sample in the graph.
    /// </summary>
    public int? TopLogprobs { get; init; }
}

/// <summary>
/// What a generation produced, with timings measured by the caller's <see cref="TimeProvider"/> from the moment the
/// request was submitted (so queueing counts in the time to first token).
/// </summary>
public sealed record GenerationResult(
    string Text,
    IReadOnlyList<int> Tokens,
    GenerationFinish Finish,
    int PromptTokens,
    TimeSpan TimeToFirstToken,
    TimeSpan Elapsed)
{
    /// <summary>Prompt tokens whose KV was reused from another sequence or an earlier request instead of computed.</summary>
    public int CachedPromptTokens { get; init; }

    /// <summary>With <see cref="GenerationRequest.TopLogprobs"/>: one entry per token of <see cref="Tokens"/>; otherwise null.</summary>
    public IReadOnlyList<TokenLogprob>? Logprobs { get; init; }

    /// <summary>Generated tokens per second after the first token (the decode rate).</summary>
    public double DecodeTokensPerSecond =>
        Tokens.Count > 1 && Elapsed > TimeToFirstToken ? (Tokens.Count - 1) / (Elapsed - TimeToFirstToken).TotalSeconds : 0;
}

/// <summary>A prompt longer than the context can hold.</summary>
public sealed class PromptTooLongException : UserErrorException
{
    public PromptTooLongException(int promptTokens, int contextSize)
        : base($"the prompt has {promptTokens} tokens but a sequence's context holds {contextSize} (Teacher:ContextPerSequence); shorten the prompt or raise Teacher:ContextPerSequence")
    {
        PromptTokens = promptTokens;
        ContextSize = contextSize;
    }

    public int PromptTokens { get; }

    public int ContextSize { get; }
}

using SynthPipeline.Core;
using SynthPipeline.Core.Options;
namespace SynthPipeline.Llama.Engine;

/// <summary>
/// Settings of <see cref="BatchedEngine"/>. The KV cache holds <see cref="SlotCount"/> ×
/// <see cref="ContextPerSequence"/> cells, one KV stream per sequence slot.
/// Validation messages name the <c>Teacher:</c> configuration keys these come from.
/// </summary>
public sealed record EngineOptions
{
    /// <summary>Sequences decoded together in every step (llama.cpp's limit is 256).</summary>
    public int ParallelSequences { get; init; } = 4;

    /// <summary>Tokens (prompt plus output) one sequence may hold.</summary>
    public int ContextPerSequence { get; init; } = 4096;

    /// <summary>Tokens submitted to one llama_decode (n_batch): one per generating sequence plus prompt chunks.</summary>
    public int BatchSize { get; init; } = 512;

    /// <summary>Tokens computed at once inside a decode (n_ubatch).</summary>
    public int MicroBatchSize { get; init; } = 512;

    /// <summary>CPU threads; 0 = all cores.</summary>
    public int Threads { get; init; }

    /// <summary>null = llama.cpp decides, true = on, false = off.</summary>
    public bool? FlashAttention { get; init; }

    /// <summary>KV cache element type: f16, bf16, f32, q8_0 or q4_0.</summary>
    public KvCacheType KvCacheType { get; init; } = KvCacheType.F16;

    /// <summary>
    /// Sample inside the compute graph where the sampler chain allows it (no grammar, no penalties), so logits stay on
    /// the device. null = only on a GPU and only for at most <see cref="MaxParallelForBackendSampling"/> sequences:
    /// on a CPU the graph's full-vocabulary sort measured slower than llama.cpp's CPU samplers, and on an H100
    /// (bench/results/engine-batching.md) in-graph sampling won at one sequence (780 against 642 tok/s) but lost from
    /// 16 on (3,367 against 4,036 at 16; 4,760 against 8,061 at 256).
    /// </summary>
    public bool? BackendSampling { get; init; }

    /// <summary>The most parallel sequences for which <see cref="BackendSampling"/> = null samples in the graph.</summary>
    public const int MaxParallelForBackendSampling = 4;

    /// <summary>Whether sampling runs in the graph for a model on a GPU (<paramref name="onGpu"/>) under these options.</summary>
    public bool SamplesInGraph(bool onGpu) => BackendSampling ?? (onGpu && ParallelSequences <= MaxParallelForBackendSampling);

    /// <summary>
    /// Prompt tokens one step may carry besides the generating sequences' tokens (0: as many as the batch holds). A
    /// budget keeps steps short while prompts arrive all the time, so the sequences already generating are not held up
    /// behind long prefills, as vLLM's chunked prefill does with its per-step token budget.
    /// </summary>
    public int PrefillBudget { get; init; }

    /// <summary>
    /// CPU samplers whose chain starts with top-k (or is greedy) run over the top-k logits, found in one vectorised
    /// pass, instead of the whole vocabulary; the token drawn is the same. null: for vocabularies of at least
    /// <see cref="Llama.TopCandidates.MinVocabulary"/> tokens; false hands llama.cpp's chain every logit.
    /// </summary>
    public bool? TopCandidates { get; init; }

    /// <summary>
    /// Handle each step's sampled tokens (text, stop sequences, callbacks) while the next step decodes instead of
    /// before it is queued. It hides that host work behind a GPU's asynchronous decode; a request a stop sequence ends
    /// decodes one token more, and no output changes.
    /// </summary>
    public bool OverlapText { get; init; } = true;

    /// <summary>
    /// A top-k chain's cut runs in the compute graph and only its k logits and token ids leave the device; the rest of
    /// the request's chain (top-p, min-p, temperature, the draw) runs on the CPU over those k candidates, so the token is
    /// the one the CPU chain over the whole vocabulary draws. Requests with penalties or a grammar, or without top-k,
    /// sample on the CPU as before. Excludes <see cref="BackendSampling"/> = true.
    /// </summary>
    public bool TopKInGraph { get; init; }

    /// <summary>
    /// Smallest vocabulary for which a step's CPU samplers run on several threads (tests lower it to cover that path
    /// with the demo model).
    /// </summary>
    internal int ParallelSamplingMinVocabulary { get; init; } = Llama.TopCandidates.MinVocabulary;

    /// <summary>Reuse the KV of a prompt prefix another sequence already computed instead of computing it again.</summary>
    public bool PrefixSharing { get; init; } = true;

    /// <summary>
    /// Shortest prefix worth taking from another sequence: waited for while that sequence still computes it, copied
    /// once it has (a copy moves the source's whole KV stream, which costs more than computing a few tokens).
    /// </summary>
    public int MinSharedPrefix { get; init; } = 16;

    /// <summary>
    /// Sequence slots beyond <see cref="ParallelSequences"/> that keep the KV of finished requests as a prompt cache.
    /// At most ParallelSequences requests run at once, over ParallelSequences + this many slots: with few sequences,
    /// the few-shot headers of a run's kinds of request (Self-Instruct's lists, classification and examples) then stay
    /// cached instead of evicting each other. Each slot holds <see cref="ContextPerSequence"/> KV cells.
    /// </summary>
    public int PrefixCacheSlots { get; init; }

    /// <summary>Sequence slots (llama.cpp sequence ids and KV streams): the parallel ones and the prefix caches.</summary>
    public int SlotCount => ParallelSequences + PrefixCacheSlots;

    public const int MaxParallelSequences = 256;

    /// <summary>Every problem, each naming its configuration key; empty when valid.</summary>
    public IReadOnlyList<string> Problems()
    {
        var p = new List<string>();
        if (ParallelSequences is < 1 or > MaxParallelSequences)
            p.Add($"Teacher:ParallelSequences={ParallelSequences}: must be between 1 and {MaxParallelSequences}");
        if (ContextPerSequence < 16) p.Add($"Teacher:ContextPerSequence={ContextPerSequence}: must be at least 16");
        if (BatchSize < 1) p.Add($"Teacher:BatchSize={BatchSize}: must be at least 1");
        else if (BatchSize < ParallelSequences)
            p.Add($"Teacher:BatchSize={BatchSize}: must be at least Teacher:ParallelSequences ({ParallelSequences}) so every sequence advances each step");
        if (MicroBatchSize < 1) p.Add($"Teacher:MicroBatchSize={MicroBatchSize}: must be at least 1");
        if (Threads < 0) p.Add($"Teacher:Threads={Threads}: must be 0 (all cores) or more");
        if (PrefillBudget < 0) p.Add($"Teacher:PrefillBudget={PrefillBudget}: must be 0 (no budget) or more");
        if (MinSharedPrefix < 1) p.Add($"Teacher:MinSharedPrefix={MinSharedPrefix}: must be at least 1");
        if (PrefixCacheSlots < 0) p.Add($"Teacher:PrefixCacheSlots={PrefixCacheSlots}: must be 0 (none) or more");
        else if (ParallelSequences + PrefixCacheSlots > MaxParallelSequences)
            p.Add($"Teacher:PrefixCacheSlots={PrefixCacheSlots}: with Teacher:ParallelSequences ({ParallelSequences}) it makes more than llama.cpp's {MaxParallelSequences} sequences");
        if (TopKInGraph && BackendSampling == true) p.Add("Teacher:Sampling: the top-k in the graph (topkingraph) and the whole chain in the graph (graph) exclude each other");
        return p;
    }

    /// <exception cref="ArgumentException">A setting is invalid; the message names every bad key.</exception>
    public EngineOptions Validate()
    {
        var problems = Problems();
        if (problems.Count > 0) throw new UserErrorException("invalid engine settings: " + string.Join("; ", problems));
        return this;
    }
}

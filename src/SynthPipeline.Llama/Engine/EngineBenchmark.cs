using SynthPipeline.Llama.Teacher;

namespace SynthPipeline.Llama.Engine;

/// <summary>One parallelism level of <see cref="EngineBenchmark"/>, in llama-batched-bench's terms.</summary>
/// <param name="PromptTokens">PP: prompt tokens per sequence.</param>
/// <param name="GeneratedTokens">TG: tokens generated per sequence.</param>
/// <param name="Parallel">B: sequences decoded together.</param>
/// <param name="PromptSeconds">T_PP: until every sequence has its first token.</param>
/// <param name="GenerationSeconds">T_TG: from then until the last sequence ends.</param>
/// <param name="TokensAfterPrompt">Tokens sampled during T_TG.</param>
/// <param name="TotalSeconds">T: submission to the last token.</param>
/// <param name="BackendSampledShare">Share of tokens sampled in the compute graph.</param>
public sealed record EngineBenchmarkRow(int PromptTokens, int GeneratedTokens, int Parallel, double PromptSeconds, double GenerationSeconds,
    long TokensAfterPrompt, double TotalSeconds, double BackendSampledShare)
{
    /// <summary>Time inside llama_decode during the run (see <see cref="EngineMetrics.DecodeSeconds"/>).</summary>
    public double DecodeSeconds { get; init; }

    /// <summary>Time reading logits and sampling during the run.</summary>
    public double SamplingSeconds { get; init; }

    /// <summary>CPU draws the bounded candidates could not settle, made over the whole vocabulary.</summary>
    public long WholeVocabularyDraws { get; init; }

    /// <summary>Tokens drawn from the k candidates of an in-graph top-k cut during the run.</summary>
    public long GraphCutDraws { get; init; }

    /// <summary>Time on sampled tokens' text, stop sequences and callbacks during the run.</summary>
    public double TextSeconds { get; init; }

    /// <summary>N_KV: KV cells the run needs.</summary>
    public int KvCells => Parallel * (PromptTokens + GeneratedTokens);

    /// <summary>S_PP: prompt tokens per second over T_PP.</summary>
    public double PromptTokensPerSecond => PromptSeconds > 0 ? (double)Parallel * PromptTokens / PromptSeconds : 0;

    /// <summary>S_TG: tokens sampled per second once every prompt is done (the figure compared with llama-batched-bench).</summary>
    public double GeneratedTokensPerSecond => GenerationSeconds > 0 ? TokensAfterPrompt / GenerationSeconds : 0;

    /// <summary>Generated tokens per second of wall time, prompts included (what a client of a server sees).</summary>
    public double EndToEndGeneratedTokensPerSecond => TotalSeconds > 0 ? (double)Parallel * GeneratedTokens / TotalSeconds : 0;

    /// <summary>S: all prompt and generated tokens per second of wall time.</summary>
    public double TotalTokensPerSecond => TotalSeconds > 0 ? (double)KvCells / TotalSeconds : 0;
}

/// <summary>
/// The workload of <c>llama-batched-bench -npp P -ntg G -npl …</c> run through <see cref="BatchedEngine"/> with
/// sampling on: for each parallelism B, B requests of P random prompt tokens are submitted at once and each
/// generates exactly G tokens (end-of-generation ignored), every sequence with its own seeded sampler.
/// </summary>
public static class EngineBenchmark
{
    /// <summary>Runs one row: <paramref name="parallel"/> requests submitted at once. Parallel sequences and context per sequence come from the row.</summary>
    public static async Task<EngineBenchmarkRow> RunAsync(LlamaModel model, EngineOptions engineOptions, SamplingSettings sampling,
        int promptTokens, int generatedTokens, int parallel, int seed, TimeProvider? timeProvider = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(engineOptions);
        ArgumentNullException.ThrowIfNull(sampling);
        ArgumentOutOfRangeException.ThrowIfLessThan(promptTokens, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(generatedTokens, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(parallel, 1);
        var time = timeProvider ?? TimeProvider.System;
        var options = engineOptions with
        {
            ParallelSequences = parallel,
            ContextPerSequence = promptTokens + generatedTokens + 1,
            BatchSize = Math.Max(engineOptions.BatchSize, parallel),
            // Random prompts share nothing; sharing would only cost the search, and cache slots only memory.
            PrefixSharing = false,
            PrefixCacheSlots = 0,
        };
        using var engine = new BatchedEngine(model, options, timeProvider: time);
        var rng = new Random(seed);
        var vocab = model.Vocab.TokenCount;
        int[] RandomPrompt() => Enumerable.Range(0, promptTokens).Select(_ => rng.Next(vocab)).ToArray();

        // Warm-up: graph allocation, the first sampler attach and the JIT's first tiers happen outside the timed run.
        await engine.GenerateAsync(new GenerationRequest(RandomPrompt(), sampling, 32, []) { IgnoreEndOfGeneration = true }, cancellationToken: cancellationToken).ConfigureAwait(false);
        var warm = engine.Metrics();

        var waitingForFirst = parallel;
        long sampled = 0, sampledAtPromptEnd = 0, promptEnd = 0;
        void OnToken(int token, ref bool first)
        {
            var total = Interlocked.Increment(ref sampled);
            if (!first) return;
            first = false;
            if (Interlocked.Decrement(ref waitingForFirst) != 0) return;
            sampledAtPromptEnd = total;
            promptEnd = time.GetTimestamp();
        }

        var requests = Enumerable.Range(0, parallel).Select(i =>
        {
            var first = true;
            return new GenerationRequest(RandomPrompt(), sampling with { Seed = (uint)(seed + i) }, generatedTokens, [])
            {
                IgnoreEndOfGeneration = true,
                OnToken = t => OnToken(t, ref first),
            };
        }).ToList();
        var start = time.GetTimestamp();
        await Task.WhenAll(requests.Select(r => engine.GenerateAsync(r, cancellationToken: cancellationToken))).ConfigureAwait(false);
        var end = time.GetTimestamp();

        var m = engine.Metrics();
        var generated = m.GeneratedTokens - warm.GeneratedTokens;
        return new EngineBenchmarkRow(promptTokens, generatedTokens, parallel,
            time.GetElapsedTime(start, promptEnd).TotalSeconds, time.GetElapsedTime(promptEnd, end).TotalSeconds,
            sampled - sampledAtPromptEnd, time.GetElapsedTime(start, end).TotalSeconds,
            generated == 0 ? 0 : (double)(m.BackendSampledTokens - warm.BackendSampledTokens) / generated)
        {
            DecodeSeconds = m.DecodeSeconds - warm.DecodeSeconds,
            SamplingSeconds = m.SamplingSeconds - warm.SamplingSeconds,
            TextSeconds = m.TextSeconds - warm.TextSeconds,
            WholeVocabularyDraws = m.WholeVocabularyDraws - warm.WholeVocabularyDraws,
            GraphCutDraws = m.GraphCutDraws - warm.GraphCutDraws,
        };
    }
}

using System.Text.Json;
using SynthPipeline.Llama;
using SynthPipeline.Llama.Engine;

namespace SynthPipeline.Cli.Commands;

/// <summary><c>synth bench --json</c>: one object per parallelism, with llama-batched-bench's field names where they exist.</summary>
internal static class BenchJson
{
    public static Task WriteAsync(FileInfo file, IEnumerable<EngineBenchmarkRow> rows, EngineOptions engine, LlamaModel model, CancellationToken cancellationToken)
    {
        var text = JsonSerializer.Serialize(rows.Select(r => new
        {
            pp = r.PromptTokens, tg = r.GeneratedTokens, b = r.Parallel, n_kv = r.KvCells,
            t_pp = r.PromptSeconds, speed_pp = r.PromptTokensPerSecond, t_tg = r.GenerationSeconds, speed_tg = r.GeneratedTokensPerSecond,
            t = r.TotalSeconds, speed = r.TotalTokensPerSecond, in_graph_share = r.BackendSampledShare, speed_gen_e2e = r.EndToEndGeneratedTokensPerSecond,
            n_vocab = model.Vocab.TokenCount, graph_sampling = (engine with { ParallelSequences = r.Parallel }).SamplesInGraph(model.OnGpu),
            t_decode = r.DecodeSeconds, t_sampling = r.SamplingSeconds, t_text = r.TextSeconds, whole_vocabulary_draws = r.WholeVocabularyDraws,
            top_candidates = engine.TopCandidates, overlap_text = engine.OverlapText, top_k_in_graph = engine.TopKInGraph, graph_cut_draws = r.GraphCutDraws,
        }), new JsonSerializerOptions { WriteIndented = true });
        return File.WriteAllTextAsync(file.FullName, text, cancellationToken);
    }
}

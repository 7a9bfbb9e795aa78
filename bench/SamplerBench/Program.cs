// Per-token cost of CPU sampling, llama.cpp's chain over the whole vocabulary against the same chain over the top
// candidates (issue 17), in two settings:
//   sampler: one sampler drawing repeatedly from one decoded position (the sampler's own cost, nothing else running);
//   engine:  the batching engine generating N sequences, its sampling time per generated token (decode threads and all).
// Each configuration runs twice in one process and the second run is reported, so that JIT tiers do not count.
//   dotnet run -c Release --project bench/SamplerBench -- MODEL.gguf [SEQUENCES=4] [TOKENS=128] [THREADS=all] [CHAIN=top-k]
// CHAIN: top-k (top-k 40, top-p 0.95, min-p 0.05, temperature 0.8) or self-instruct (top-p 0.5 without top-k,
// temperature 0.7, presence penalty 2: what synth generate asks for its lists).
using System.Diagnostics;
using System.Globalization;
using SynthPipeline.Llama;
using SynthPipeline.Llama.Engine;

if (args.Length < 1)
{
    Console.Error.WriteLine("usage: SamplerBench MODEL.gguf [SEQUENCES] [TOKENS] [THREADS] [top-k|self-instruct]");
    return 2;
}
var sequences = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 4;
var tokens = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 128;
var threads = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : Environment.ProcessorCount;
using var model = LlamaModel.Load(args[0]);
var (chain, settings) = (args.Length > 4 ? args[4] : "top-k") switch
{
    "top-k" => ("top-k 40, top-p 0.95, min-p 0.05, temperature 0.8", new SamplingSettings { Temperature = 0.8f, TopK = 40, TopP = 0.95f, MinP = 0.05f, Seed = 1 }),
    "self-instruct" => ("top-p 0.5 without top-k, temperature 0.7, presence penalty 2", new SamplingSettings { Temperature = 0.7f, TopK = 0, TopP = 0.5f, MinP = 0, PresencePenalty = 2, Seed = 1 }),
    var other => throw new ArgumentException($"CHAIN '{other}': top-k or self-instruct"),
};
Console.WriteLine($"{Path.GetFileName(args[0])}: vocabulary {model.Vocab.TokenCount:N0}; {chain}; {threads} threads");

double SamplerMicroseconds(bool top)
{
    using var context = LlamaContext.Create(model, new LlamaContextOptions { ContextSize = 256, Threads = threads });
    var prompt = model.Vocab.Tokenize("Write a short poem about the sea.");
    using var batch = new LlamaBatch(prompt.Length);
    for (var i = 0; i < prompt.Length; i++) batch.Add(prompt[i], i, 0, i == prompt.Length - 1);
    if (context.Decode(batch) != DecodeStatus.Ok) throw new InvalidOperationException("decode failed");
    var result = 0.0;
    for (var run = 0; run < 2; run++)
    {
        using var sampler = LlamaSampler.Create(model, settings, top);
        const int draws = 5000;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < draws; i++) sampler.Sample(context, prompt.Length - 1);
        result = clock.Elapsed.TotalMicroseconds / draws;
    }
    return result;
}

async Task<(double Sampling, double Step, double TokensPerSecond)> Engine(bool top)
{
    (double, double, double) result = default;
    for (var run = 0; run < 2; run++)
    {
        using var engine = new BatchedEngine(model, new EngineOptions
        {
            ParallelSequences = sequences, ContextPerSequence = tokens + 40, BatchSize = Math.Max(512, sequences), Threads = threads,
            BackendSampling = false, TopCandidates = top, PrefixSharing = false, FlashAttention = false,
        });
        var random = new Random(run);
        var requests = Enumerable.Range(0, sequences).Select(i => new GenerationRequest(
            Enumerable.Range(0, 32).Select(_ => random.Next(model.Vocab.TokenCount)).ToArray(),
            settings with { Seed = (uint)(i + 1) }, tokens, []) { IgnoreEndOfGeneration = true }).ToList();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(requests.Select(r => engine.GenerateAsync(r)));
        var seconds = clock.Elapsed.TotalSeconds;
        var m = engine.Metrics();
        result = (m.SamplingSeconds * 1e6 / m.GeneratedTokens, m.SamplingSeconds / (m.DecodeSeconds + m.SamplingSeconds + m.TextSeconds), m.GeneratedTokens / seconds);
    }
    return result;
}

Console.WriteLine("| setting | whole vocabulary | top candidates | ratio |");
Console.WriteLine("|---|---|---|---|");
var (wholeAlone, topAlone) = (SamplerMicroseconds(false), SamplerMicroseconds(true));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| one sampler, µs per token | {wholeAlone:F1} | {topAlone:F1} | {wholeAlone / topAlone:F1}x |"));
var whole = await Engine(false);
var topped = await Engine(true);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| engine, {sequences} sequences × {tokens} tokens: sampling µs per token | {whole.Sampling:F1} | {topped.Sampling:F1} | {whole.Sampling / topped.Sampling:F1}x |"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| engine: sampling share of step time | {whole.Step:P1} | {topped.Step:P1} | |"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| engine: generated tokens/s | {whole.TokensPerSecond:F1} | {topped.TokensPerSecond:F1} | {topped.TokensPerSecond / whole.TokensPerSecond:F2}x |"));
return 0;

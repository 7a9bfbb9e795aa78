using System.CommandLine;
using System.Globalization;
using SynthPipeline.Cli.Hosting;
using SynthPipeline.Llama;
using SynthPipeline.Llama.Engine;
using SynthPipeline.Core;
using SynthPipeline.Core.Options;
using SynthPipeline.Pipeline.Teacher;

namespace SynthPipeline.Cli.Commands;

/// <summary>
/// <c>synth bench</c>: llama-batched-bench's workload (-npp, -ntg, -npl) through the continuous-batching engine,
/// with sampling on. Prints aggregate generated tokens/s per parallelism.
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var model = new Option<string?>("--model", "-m") { Description = "GGUF to benchmark (overrides Teacher:ModelPath; default: the demo model)" };
        var npp = new Option<int>("--npp") { Description = "Prompt tokens per sequence", DefaultValueFactory = _ => 128 };
        var ntg = new Option<int>("--ntg") { Description = "Tokens generated per sequence", DefaultValueFactory = _ => 128 };
        var npl = new Option<string>("--npl") { Description = "Comma-separated parallelism levels", DefaultValueFactory = _ => "1,16,64,128,256" };
        var temperature = new Option<float>("--temperature") { Description = "Sampling temperature", DefaultValueFactory = _ => 0.8f };
        var topP = new Option<float>("--top-p") { Description = "Top-p", DefaultValueFactory = _ => 0.95f };
        var topK = new Option<int>("--top-k") { Description = "Top-k before top-p (llama.cpp's default 40; 0 = off)", DefaultValueFactory = _ => 40 };
        var presence = new Option<float>("--presence-penalty") { Description = "Presence penalty over the last 64 tokens (Self-Instruct asks 1.5-2; 0 = off)" };
        var seed = new Option<int>("--seed") { Description = "Seed of prompts and samplers", DefaultValueFactory = _ => 1 };
        var samplingPath = new Option<SamplingMode?>("--sampling") { Description = "graph, cpu, topkingraph or auto (overrides Teacher:Sampling)" };
        var json = new Option<FileInfo?>("--json") { Description = "Also write the rows to this JSON file" };
        var grammar = new Option<FileInfo?>("--grammar-file") { Description = "Constrain every sequence with this GBNF grammar" };
        var grammarMode = new Option<GrammarMode>("--grammar-mode") { Description = "First (check the pick, resample if refused) or EveryToken", DefaultValueFactory = _ => GrammarMode.First };
        var command = new Command("bench", "Measure the batching engine on llama-batched-bench's workload, with sampling")
        {
            model, npp, ntg, npl, temperature, topP, topK, presence, seed, samplingPath, json, grammar, grammarMode,
        };

        command.SetAction(async (parse, cancellationToken) =>
        {
            var configuration = AppConfiguration.Build();
            var teacher = AppConfiguration.Teacher(configuration);
            if (parse.GetValue(model) is { } m) teacher.ModelPath = m;
            if (parse.GetValue(samplingPath) is { } sp) teacher.Sampling = sp;
            teacher.Validate();
            var levels = ParseLevels(parse.GetValue(npl)!);
            var stderr = ConsoleExtensions.ForStandardError();
            using var loggers = Logging.Create(configuration);
            var path = LocalTeacher.ResolveModelPath(teacher, stderr.Notice);
            using var llama = LocalTeacher.LoadModel(teacher, path, loggers, cancellationToken);
            var engine = LocalTeacher.ToEngineOptions(teacher);
            var sampling = new SamplingSettings
            {
                Temperature = parse.GetValue(temperature), TopP = parse.GetValue(topP), TopK = parse.GetValue(topK), MinP = 0, PresencePenalty = parse.GetValue(presence),
                Grammar = parse.GetValue(grammar) is { } g ? File.ReadAllText(g.FullName) : null, GrammarMode = parse.GetValue(grammarMode),
            }.Validate();

            var o = Console.Out;
            await o.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"model: {llama.Description} ({path}); sampling: top-k {sampling.TopK}, top-p {sampling.TopP}, temperature {sampling.Temperature}{(sampling.PresencePenalty != 0 ? $", presence {sampling.PresencePenalty}" : "")}, seeded{(sampling.Grammar is null ? "" : $", grammar ({sampling.GrammarMode})")}; " +
                $"{(engine.TopKInGraph ? "top-k in the graph, the rest of the chain on the CPU" : engine.BackendSampling switch { true => "in-graph", false => "CPU", null => $"auto (in-graph up to {EngineOptions.MaxParallelForBackendSampling} sequences)" })} sampling; n_batch {engine.BatchSize}, n_ubatch {engine.MicroBatchSize}")).ConfigureAwait(false);
            await o.WriteLineAsync("|    PP |     TG |    B |   N_KV |   T_PP s | S_PP t/s |   T_TG s | S_TG t/s |      T s |    S t/s | in-graph |").ConfigureAwait(false);
            await o.WriteLineAsync("|-------|--------|------|--------|----------|----------|----------|----------|----------|----------|----------|").ConfigureAwait(false);
            var rows = new List<EngineBenchmarkRow>();
            foreach (var level in levels)
            {
                var r = await EngineBenchmark.RunAsync(llama, engine, sampling, parse.GetValue(npp), parse.GetValue(ntg), level, parse.GetValue(seed),
                    cancellationToken: cancellationToken).ConfigureAwait(false);
                rows.Add(r);
                await o.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"| {r.PromptTokens,5} | {r.GeneratedTokens,6} | {r.Parallel,4} | {r.KvCells,6} | {r.PromptSeconds,8:F3} | {r.PromptTokensPerSecond,8:F2} | " +
                    $"{r.GenerationSeconds,8:F3} | {r.GeneratedTokensPerSecond,8:F2} | {r.TotalSeconds,8:F3} | {r.TotalTokensPerSecond,8:F2} | {r.BackendSampledShare,8:P0} |")).ConfigureAwait(false);
            }
            if (parse.GetValue(json) is { } file)
                await BenchJson.WriteAsync(file, rows, engine, llama, cancellationToken).ConfigureAwait(false);
            return 0;
        });
        return command;
    }

    private static List<int> ParseLevels(string text)
    {
        var levels = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n is < 1 or > EngineOptions.MaxParallelSequences)
                throw new UserErrorException($"--npl: '{part}' is not a parallelism between 1 and {EngineOptions.MaxParallelSequences}");
            levels.Add(n);
        }
        if (levels.Count == 0) throw new UserErrorException("--npl: give at least one parallelism level, for example 1,16,64");
        return levels;
    }
}

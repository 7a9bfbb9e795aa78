using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Spectre.Console;
using SynthPipeline.Llama;
using SynthPipeline.Llama.Engine;
using SynthPipeline.Llama.Gguf;
using SynthPipeline.Llama.Native;
using SynthPipeline.Llama.Teacher;
using SynthPipeline.Options;
using SynthPipeline.Pipeline.Stages;

namespace SynthPipeline.Cli.Hosting;

/// <summary>Turns validated <see cref="TeacherOptions"/> into a loaded model and an in-process teacher.</summary>
internal static class TeacherFactory
{
    /// <summary>Where the demo model is written when no teacher is configured.</summary>
    public static string DemoModelPath => Path.Combine(Environment.CurrentDirectory, "output", "demo", DemoModel.Name + ".gguf");

    /// <summary>The configured model, or the demo model (written on first use) with a plain notice on stderr.</summary>
    public static string ResolveModelPath(TeacherOptions options, IAnsiConsole stderr)
    {
        if (!string.IsNullOrWhiteSpace(options.ModelPath)) return options.ModelPath;
        var path = DemoModelPath;
        if (!File.Exists(path)) DemoModel.Write(path);
        stderr.MarkupLineInterpolated(
            $"[yellow]No teacher model is configured (Teacher:ModelPath or --model), so the built-in demo model is used: {path}[/]");
        stderr.MarkupLine("[yellow]The demo model has random weights: its text is noise. Point Teacher:ModelPath at a real GGUF for real data.[/]");
        return path;
    }

    /// <summary>Loads llama.cpp's libraries from Teacher:NativeLibraryPath (or the fetched ones), logging through <paramref name="loggers"/>.</summary>
    public static void InitializeNative(TeacherOptions options, ILoggerFactory loggers) =>
        LlamaLibrary.Initialize(options.NativeLibraryPath, loggers.CreateLogger("SynthPipeline.Llama.Native"));

    public static LlamaModel LoadModel(TeacherOptions options, string path, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        InitializeNative(options, loggers);
        return LlamaModel.Load(path, new LlamaModelLoadOptions { GpuLayers = options.GpuLayers }, cancellationToken: cancellationToken);
    }

    public static EngineOptions ToEngineOptions(TeacherOptions options) => new()
    {
        ParallelSequences = options.ParallelSequences,
        ContextPerSequence = options.ContextPerSequence,
        BatchSize = options.BatchSize,
        MicroBatchSize = options.MicroBatchSize,
        Threads = options.Threads,
        KvCacheType = options.KvCacheType,
        FlashAttention = options.FlashAttentionSwitch,
        BackendSampling = options.GraphSampling,
        PrefixSharing = options.PrefixSharing,
    };

    /// <summary>
    /// The chain every pipeline teacher call goes through: resilience (stall, timeout, retry) outside, logging of each
    /// attempt inside, the model last.
    /// </summary>
    public static IChatClient WithResilience(IChatClient client, int stallSeconds, int timeoutSeconds, int retries, ILoggerFactory loggers) =>
        new ChatClientBuilder(client)
            .Use(inner => new ResilientChatClient(inner, TimeSpan.FromSeconds(stallSeconds), TimeSpan.FromSeconds(timeoutSeconds), retries,
                TimeProvider.System, loggers.CreateLogger<ResilientChatClient>()))
            .UseLogging(loggers)
            .Build();

    public static LlamaChatClient CreateClient(LlamaModel model, TeacherOptions options, ILoggerFactory loggers,
        IReadOnlyList<(string Path, float Scale)>? lora = null) =>
        new(model, new LlamaChatClientOptions
        {
            Engine = ToEngineOptions(options),
            DefaultSampling = new SamplingSettings { Temperature = (float)options.Temperature, TopP = (float)options.TopP },
            DefaultMaxOutputTokens = options.MaxOutputTokens,
            ChatTemplate = string.IsNullOrWhiteSpace(options.ChatTemplate) ? null : options.ChatTemplate,
            LoraAdapters = lora ?? [],
        }, loggers.CreateLogger<LlamaChatClient>());
}

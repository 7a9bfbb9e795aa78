using Microsoft.Extensions.Logging;
using SynthPipeline.Core.Options;
using SynthPipeline.Llama;
using SynthPipeline.Llama.Engine;
using SynthPipeline.Llama.Gguf;
using SynthPipeline.Llama.Native;
using SynthPipeline.Llama.Teacher;

namespace SynthPipeline.Pipeline.Teacher;

/// <summary>
/// The in-process teacher: validated <see cref="TeacherOptions"/> become a loaded model and a batching
/// <see cref="LlamaChatClient"/>. Disposing releases the client before the model.
/// </summary>
public sealed class LocalTeacher : IDisposable
{
    private LocalTeacher(LlamaModel model, LlamaChatClient client, string path, bool isDemo)
    {
        Model = model;
        Client = client;
        Teacher = new RunTeacher(client, $"{model.Description} ({path})", isDemo, text => model.Vocab.Tokenize(text, addSpecial: false, parseSpecial: false).Length);
    }

    /// <summary>Where the demo model is written when no teacher is configured.</summary>
    public static string DemoModelPath => Path.Combine(Environment.CurrentDirectory, "output", "demo", DemoModel.Name + ".gguf");

    public LlamaModel Model { get; }

    public LlamaChatClient Client { get; }

    /// <summary>The teacher as a run sees it.</summary>
    public RunTeacher Teacher { get; }

    /// <summary>Loads the configured model (or the demo model, saying so through <paramref name="notice"/>) and starts its engine.</summary>
    public static LocalTeacher Load(TeacherOptions options, ILoggerFactory loggers, Action<string> notice, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var path = ResolveModelPath(options, notice);
        var model = LoadModel(options, path, loggers, cancellationToken);
        try
        {
            return new LocalTeacher(model, CreateClient(model, options, loggers), path, IsDemo(path));
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>The configured model, or the demo model (written on first use) with a plain notice.</summary>
    public static string ResolveModelPath(TeacherOptions options, Action<string> notice)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(notice);
        if (!string.IsNullOrWhiteSpace(options.ModelPath)) return options.ModelPath;
        var path = DemoModelPath;
        if (!File.Exists(path)) DemoModel.Write(path);
        notice($"No teacher model is configured (Teacher:ModelPath or --model), so the built-in demo model is used: {path}");
        notice("The demo model has random weights: its text is noise. Point Teacher:ModelPath at a real GGUF for real data.");
        return path;
    }

    public static bool IsDemo(string path) => string.Equals(Path.GetFullPath(path), Path.GetFullPath(DemoModelPath), StringComparison.Ordinal);

    /// <summary>Loads llama.cpp's libraries from Teacher:NativeLibraryPath (or the fetched ones), logging through <paramref name="loggers"/>.</summary>
    public static void InitializeNative(TeacherOptions options, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggers);
        LlamaLibrary.Initialize(options.NativeLibraryPath, loggers.CreateLogger("SynthPipeline.Llama.Native"));
    }

    public static LlamaModel LoadModel(TeacherOptions options, string path, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        InitializeNative(options, loggers);
        return LlamaModel.Load(path, new LlamaModelLoadOptions { GpuLayers = options.GpuLayers }, cancellationToken: cancellationToken);
    }

    public static EngineOptions ToEngineOptions(TeacherOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new()
        {
            ParallelSequences = options.ParallelSequences,
            ContextPerSequence = options.ContextPerSequence,
            BatchSize = options.BatchSize,
            MicroBatchSize = options.MicroBatchSize,
            Threads = options.Threads,
            KvCacheType = options.KvCacheType,
            FlashAttention = options.FlashAttention.AsNullable(),
            BackendSampling = options.GraphSampling,
            TopKInGraph = options.Sampling == SamplingMode.TopKInGraph,
            PrefixSharing = options.PrefixSharing,
            PrefillBudget = options.PrefillBudget,
            PrefixCacheSlots = options.EffectivePrefixCacheSlots,
            TopCandidates = options.TopCandidates.AsNullable(),
            OverlapText = options.OverlapText,
        };
    }

    public static LlamaChatClient CreateClient(LlamaModel model, TeacherOptions options, ILoggerFactory loggers,
        IReadOnlyList<(string Path, float Scale)>? lora = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggers);
        return new(model, new LlamaChatClientOptions
        {
            Engine = ToEngineOptions(options),
            DefaultSampling = new SamplingSettings { Temperature = (float)options.Temperature, TopP = (float)options.TopP },
            DefaultMaxOutputTokens = options.MaxOutputTokens,
            ChatTemplate = string.IsNullOrWhiteSpace(options.ChatTemplate) ? null : options.ChatTemplate,
            LoraAdapters = lora ?? [],
        }, loggers.CreateLogger<LlamaChatClient>());
    }

    public void Dispose()
    {
        Client.Dispose();
        Model.Dispose();
    }
}

using Microsoft.Extensions.Logging.Abstractions;
using SynthPipeline.Llama;
using SynthPipeline.Llama.Engine;
using SynthPipeline.Llama.Gguf;
using SynthPipeline.Llama.Native;
using SynthPipeline.Llama.Teacher;

namespace SynthPipeline.Server.Tests;

/// <summary>
/// The demo model (written by the test), its engine, and <c>synth serve</c>'s server over it on a free loopback port;
/// <see cref="Local"/> is the same engine in-process, to compare what the server says with what the model says.
/// </summary>
public sealed class ServedModel : IAsyncLifetime
{
    public const int Context = 512;
    public const string ModelId = "demo";

    private readonly string _folder = Path.Combine(Path.GetTempPath(), "synth-serve-" + Guid.NewGuid().ToString("N"));

    public LlamaModel Model { get; private set; } = null!;

    public LlamaChatClient Local { get; private set; } = null!;

    public SynthServer Server { get; private set; } = null!;

    /// <summary>The server's API root, <c>http://127.0.0.1:PORT/v1</c>.</summary>
    public Uri Api => new(Server.Address + "/v1");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_folder);
        LlamaLibrary.Initialize();
        Model = LlamaModel.Load(DemoModel.Write(Path.Combine(_folder, "demo.gguf")), new LlamaModelLoadOptions { GpuLayers = 0 });
        Local = new LlamaChatClient(Model, new LlamaChatClientOptions
        {
            Engine = new EngineOptions { ParallelSequences = 4, ContextPerSequence = Context, BatchSize = 256, MicroBatchSize = 256, Threads = 2, FlashAttention = false },
            DefaultMaxOutputTokens = 32,
        });
        Server = await SynthServer.StartAsync(Local, new ServeOptions { Port = 0, ModelId = ModelId }, NullLoggerFactory.Instance);
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        Local.Dispose();
        Model.Dispose();
        Directory.Delete(_folder, recursive: true);
    }
}

[CollectionDefinition(Name)]
public sealed class ServedModelCollection : ICollectionFixture<ServedModel>
{
    public const string Name = "served demo model";
}

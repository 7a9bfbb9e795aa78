using SynthPipeline.Llama.Engine;
using SynthPipeline.Llama.Gguf;
using SynthPipeline.Llama.Native;
using SynthPipeline.Llama.Teacher;

namespace SynthPipeline.Llama.Tests;

/// <summary>
/// Writes the demo model once and loads it on the CPU for every test in the collection, on LLamaSharp's bundled
/// llama.cpp or, when <c>Teacher__NativeLibraryPath</c> is set, on that build (to check a user's or a patched build).
/// </summary>
public sealed class DemoModelFixture : IDisposable
{
    public DemoModelFixture()
    {
        Directory = TestPaths.TempDirectory("demo");
        ModelPath = DemoModel.Write(Path.Combine(Directory, "demo.gguf"));
        LlamaLibrary.Initialize(Environment.GetEnvironmentVariable("Teacher__NativeLibraryPath"));
        Model = LlamaModel.Load(ModelPath, new LlamaModelLoadOptions { GpuLayers = 0 });
    }

    public string Directory { get; }

    public string ModelPath { get; }

    public LlamaModel Model { get; }

    /// <summary>A teacher over the shared demo model with its own CPU context.</summary>
    public LlamaChatClient CreateClient(int contextPerSequence = 2048, int defaultMaxOutputTokens = 512, int parallel = 4) => new(Model, new LlamaChatClientOptions
    {
        Engine = new EngineOptions
        {
            ParallelSequences = parallel, ContextPerSequence = contextPerSequence, BatchSize = 256, MicroBatchSize = 256, Threads = 2,
            // Off so concurrent requests get the same tokens as requests alone (see BatchedEngineTests).
            FlashAttention = false,
        },
        DefaultMaxOutputTokens = defaultMaxOutputTokens,
    });

    public void Dispose()
    {
        Model.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // a leftover temp folder is harmless
        }
    }
}

[CollectionDefinition(Name)]
public sealed class DemoModelCollection : ICollectionFixture<DemoModelFixture>
{
    public const string Name = "demo model";
}

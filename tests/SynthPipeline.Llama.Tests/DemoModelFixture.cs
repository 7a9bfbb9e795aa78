using SynthPipeline.Llama.Gguf;
using SynthPipeline.Llama.Native;

namespace SynthPipeline.Llama.Tests;

/// <summary>Writes the demo model once and loads it on the CPU for every test in the collection.</summary>
public sealed class DemoModelFixture : IDisposable
{
    public DemoModelFixture()
    {
        Directory = TestPaths.TempDirectory("demo");
        ModelPath = DemoModel.Write(Path.Combine(Directory, "demo.gguf"));
        LlamaLibrary.Initialize();
        Model = LlamaModel.Load(ModelPath, new LlamaModelLoadOptions { GpuLayers = 0 });
    }

    public string Directory { get; }

    public string ModelPath { get; }

    public LlamaModel Model { get; }

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

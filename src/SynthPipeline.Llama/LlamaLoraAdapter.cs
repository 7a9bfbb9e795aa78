using LLama.Native;
using SynthPipeline.Core;
using SynthPipeline.Llama.Gguf;
using SynthPipeline.Llama.Native;

namespace SynthPipeline.Llama;

/// <summary>A GGUF LoRA adapter loaded for a model through LLamaSharp; apply it with <see cref="LlamaContext.SetLoraAdapters"/>.</summary>
public sealed class LlamaLoraAdapter : IDisposable
{
    // LLamaSharp 0.30's LoadLoraFromFile wraps a NULL adapter without a word (llama.cpp returns NULL for an adapter of
    // another model's shapes); its pointer is internal, so it is read here to refuse such an adapter instead of
    // letting the context crash on it.
    private static readonly System.Reflection.PropertyInfo PointerProperty = typeof(LoraAdapter).GetProperty("Pointer",
        System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic)
        ?? throw new InvalidOperationException("LLamaSharp's LoraAdapter has no Pointer property; check the LLamaSharp version");

    private readonly GgufFile _gguf;
    private readonly LlamaModel _model;
    private bool _modelReferenced;

    private LlamaLoraAdapter(LlamaModel model, string path, GgufFile gguf, LoraAdapter native)
    {
        Path = path;
        _gguf = gguf;
        Native = native;
        _model = model;
        // llama.cpp needs the model to outlive its adapters, whatever order callers dispose in.
        model.Handle.DangerousAddRef(ref _modelReferenced);
    }

    internal LoraAdapter Native { get; }

    public string Path { get; }

    /// <exception cref="UserErrorException">The file is missing or not GGUF, or llama.cpp rejected it (wrong base model).</exception>
    public static LlamaLoraAdapter Load(LlamaModel model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full)) throw new UserErrorException($"LoRA adapter '{full}' does not exist");
        var gguf = GgufReader.Read(full);
        NativeLog.ClearRecentProblems();
        var native = model.Handle.LoadLoraFromFile(full);
        if ((nint)PointerProperty.GetValue(native)! == 0)
            throw new LlamaModelException($"llama.cpp could not load LoRA adapter '{full}' for '{model.Path}': {NativeLog.TakeRecentProblems()}");
        return new LlamaLoraAdapter(model, full, gguf, native);
    }

    /// <summary>A metadata value of the adapter as a string (read from its GGUF header), or null.</summary>
    public string? Metadata(string key) => _gguf[key]?.ToString();

    public void Dispose()
    {
        Native.Unload();
        if (_modelReferenced)
        {
            _model.Handle.DangerousRelease();
            _modelReferenced = false;
        }
    }
}

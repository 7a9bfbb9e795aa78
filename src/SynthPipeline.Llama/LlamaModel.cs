using System.Text;
using LLama.Exceptions;
using LLama.Native;
using SynthPipeline.Llama.Gguf;
using SynthPipeline.Llama.Native;
using SynthPipeline.Core;

namespace SynthPipeline.Llama;

/// <summary>How to load a model.</summary>
public sealed record LlamaModelLoadOptions
{
    /// <summary>Layers to offload to the GPU; -1 offloads all, 0 keeps the model on the CPU.</summary>
    public int GpuLayers { get; init; } = -1;

    /// <summary>Load only the vocabulary (tokenizer and chat template), no weights.</summary>
    public bool VocabOnly { get; init; }

    /// <summary>Memory-map the file instead of reading it.</summary>
    public bool UseMmap { get; init; } = true;
}

/// <summary>
/// A GGUF model loaded in-process by llama.cpp through LLamaSharp. The file is validated by <see cref="GgufReader"/>
/// first, so a malformed file is reported with its defect instead of reaching native code. LLamaSharp's context and
/// sampler handles keep the model handle alive, so disposal order does not matter.
/// </summary>
public sealed class LlamaModel : IDisposable
{
    private LlamaModel(string path, GgufFile gguf, SafeLlamaModelHandle handle, bool onGpu)
    {
        OnGpu = onGpu;
        Path = path;
        Gguf = gguf;
        Handle = handle;
        Vocab = new LlamaVocab(this, NativeMethods.LlamaModelGetVocab(handle));
    }

    internal SafeLlamaModelHandle Handle { get; }

    public string Path { get; }

    /// <summary>Layers were offloaded to a GPU device (so in-graph sampling runs there too).</summary>
    public bool OnGpu { get; }

    /// <summary>The validated header, metadata and tensor table.</summary>
    public GgufFile Gguf { get; }

    public LlamaVocab Vocab { get; }

    public int TrainingContextLength => Handle.ContextSize;

    public int EmbeddingLength => Handle.EmbeddingSize;

    public int LayerCount => Handle.LayerCount;

    public ulong ParameterCount => Handle.ParameterCount;

    public ulong SizeBytes => Handle.SizeInBytes;

    public string Description => Handle.Description;

    /// <summary>The model's default chat template, or null if it has none.</summary>
    public string? ChatTemplate => Handle.GetTemplate(null, strict: false);

    /// <summary>Metadata as llama.cpp reports it (arrays are omitted by llama.cpp).</summary>
    public IReadOnlyDictionary<string, string> NativeMetadata
    {
        get
        {
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i < Handle.MetadataCount; i++)
            {
                if (Handle.MetadataKeyByIndex(i) is not { } key) continue;
                result[Encoding.UTF8.GetString(key.Span)] = Handle.MetadataValueByIndex(i) is { } value ? Encoding.UTF8.GetString(value.Span) : string.Empty;
            }
            return result;
        }
    }

    /// <summary>Validates and loads <paramref name="path"/>. Progress is reported in [0, 1]; cancelling aborts the load.</summary>
    /// <exception cref="UserErrorException">The file does not exist, is not valid GGUF, or llama.cpp rejected it.</exception>
    /// <exception cref="OperationCanceledException">The load was cancelled.</exception>
    public static LlamaModel Load(string path, LlamaModelLoadOptions? options = null, IProgress<float>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= new LlamaModelLoadOptions();
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full)) throw new UserErrorException($"model file '{full}' does not exist");
        var gguf = GgufReader.Read(full);
        cancellationToken.ThrowIfCancellationRequested();
        LlamaLibrary.EnsureInitialized();

        var parameters = LLamaModelParams.Default();
        parameters.n_gpu_layers = options.GpuLayers;
        parameters.vocab_only = options.VocabOnly;
        parameters.load_mode = options.UseMmap ? LLamaLoadMode.MemoryMap : LLamaLoadMode.None;
        // Returning false makes llama.cpp abandon the load; the delegate must outlive the native call.
        LlamaProgressCallback report = (value, _) =>
        {
            progress?.Report(value);
            return !cancellationToken.IsCancellationRequested;
        };
        parameters.progress_callback = report;
        NativeLog.ClearRecentProblems();
        try
        {
            var handle = SafeLlamaModelHandle.LoadFromFile(full, parameters);
            var onGpu = options.GpuLayers != 0 && !options.VocabOnly && LlamaLibrary.Devices.Any(d => !d.StartsWith("CPU", StringComparison.OrdinalIgnoreCase));
            return new LlamaModel(full, gguf, handle, onGpu);
        }
        catch (LoadWeightsFailedException)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var why = NativeLog.TakeRecentProblems();
            throw new LlamaModelException(
                $"llama.cpp could not load '{full}' (architecture '{gguf.Architecture ?? "none"}')" +
                (why.Length > 0 ? $": {why}" : "; set Logging:LogLevel:SynthPipeline=Debug for llama.cpp's log"));
        }
        finally
        {
            GC.KeepAlive(report);
        }
    }

    public void Dispose() => Handle.Dispose();
}

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
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
/// A GGUF model loaded in-process by llama.cpp. The file is validated by <see cref="GgufReader"/> first, so a
/// malformed file is reported with its defect instead of reaching native code. Contexts keep the model alive.
/// </summary>
public sealed unsafe class LlamaModel : IDisposable
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

    public int TrainingContextLength => NativeMethods.LlamaModelNCtxTrain(Handle);

    public int EmbeddingLength => NativeMethods.LlamaModelNEmbd(Handle);

    public int LayerCount => NativeMethods.LlamaModelNLayer(Handle);

    public ulong ParameterCount => NativeMethods.LlamaModelNParams(Handle);

    public ulong SizeBytes => NativeMethods.LlamaModelSize(Handle);

    public string Description
    {
        get
        {
            var buf = stackalloc byte[256];
            var n = NativeMethods.LlamaModelDesc(Handle, buf, 256);
            return n > 0 ? Marshal.PtrToStringUTF8((nint)buf, Math.Min(n, 255)) : string.Empty;
        }
    }

    /// <summary>The model's default chat template, or null if it has none.</summary>
    public string? ChatTemplate => NativeMethods.Utf8(NativeMethods.LlamaModelChatTemplate(Handle, null));

    /// <summary>Metadata as llama.cpp reports it (arrays are omitted by llama.cpp).</summary>
    public IReadOnlyDictionary<string, string> NativeMetadata
    {
        get
        {
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            var count = NativeMethods.LlamaModelMetaCount(Handle);
            const int size = 4096;
            var buf = (byte*)NativeMemory.Alloc(size);
            try
            {
                for (var i = 0; i < count; i++)
                {
                    if (NativeMethods.LlamaModelMetaKeyByIndex(Handle, i, buf, size) < 0) continue;
                    var key = Marshal.PtrToStringUTF8((nint)buf) ?? string.Empty;
                    var n = NativeMethods.LlamaModelMetaValStrByIndex(Handle, i, buf, size);
                    result[key] = n < 0 ? string.Empty : Marshal.PtrToStringUTF8((nint)buf) ?? string.Empty;
                }
            }
            finally
            {
                NativeMemory.Free(buf);
            }
            return result;
        }
    }

    /// <summary>Validates and loads <paramref name="path"/>. Progress is reported in [0, 1]; cancelling aborts the load.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="GgufFormatException">The file is not valid GGUF.</exception>
    /// <exception cref="LlamaModelException">llama.cpp rejected the model (for example an unknown architecture).</exception>
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

        var parameters = NativeMethods.LlamaModelDefaultParams();
        parameters.NGpuLayers = options.GpuLayers;
        parameters.VocabOnly = options.VocabOnly ? (byte)1 : (byte)0;
        parameters.LoadMode = options.UseMmap ? 1 : 0;
        var state = new LoadState(progress, cancellationToken);
        var gc = GCHandle.Alloc(state);
        try
        {
            parameters.ProgressCallback = (nint)(delegate* unmanaged[Cdecl]<float, nint, byte>)&OnProgress;
            parameters.ProgressCallbackUserData = GCHandle.ToIntPtr(gc);
            NativeLog.ClearRecentProblems();
            var native = NativeMethods.LlamaModelLoadFromFile(full, parameters);
            if (native == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var why = NativeLog.TakeRecentProblems();
                throw new LlamaModelException(
                    $"llama.cpp could not load '{full}' (architecture '{gguf.Architecture ?? "none"}')" +
                    (why.Length > 0 ? $": {why}" : "; set Logging:LogLevel:SynthPipeline=Debug for llama.cpp's log"));
            }
            var onGpu = options.GpuLayers != 0 && !options.VocabOnly && LlamaLibrary.Devices.Any(d => !d.StartsWith("CPU", StringComparison.OrdinalIgnoreCase));
            return new LlamaModel(full, gguf, new SafeLlamaModelHandle(native), onGpu);
        }
        finally
        {
            gc.Free();
        }
    }

    public void Dispose() => Handle.Dispose();

    private sealed record LoadState(IProgress<float>? Progress, CancellationToken Token);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static byte OnProgress(float progress, nint userData)
    {
        var state = (LoadState)GCHandle.FromIntPtr(userData).Target!;
        state.Progress?.Report(progress);
        return state.Token.IsCancellationRequested ? (byte)0 : (byte)1;
    }
}

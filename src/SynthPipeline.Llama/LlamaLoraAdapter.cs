using SynthPipeline.Llama.Native;
using SynthPipeline.Core;

namespace SynthPipeline.Llama;

/// <summary>A GGUF LoRA adapter loaded for a model; apply it with <see cref="LlamaContext.SetLoraAdapters"/>.</summary>
public sealed unsafe class LlamaLoraAdapter : IDisposable
{
    private LlamaLoraAdapter(string path, SafeLlamaAdapterHandle handle)
    {
        Path = path;
        Handle = handle;
    }

    internal SafeLlamaAdapterHandle Handle { get; }

    public string Path { get; }

    /// <exception cref="LlamaModelException">llama.cpp rejected the adapter (wrong base model, bad file).</exception>
    public static LlamaLoraAdapter Load(LlamaModel model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full)) throw new UserErrorException($"LoRA adapter '{full}' does not exist");
        Gguf.GgufReader.Read(full);
        NativeLog.ClearRecentProblems();
        var native = NativeMethods.LlamaAdapterLoraInit(model.Handle, full);
        if (native == 0) throw new LlamaModelException($"llama.cpp could not load LoRA adapter '{full}' for '{model.Path}': {NativeLog.TakeRecentProblems()}");
        return new LlamaLoraAdapter(full, SafeLlamaAdapterHandle.Create(native, model.Handle));
    }

    /// <summary>A metadata value of the adapter as a string, or null.</summary>
    public string? Metadata(string key)
    {
        var buf = stackalloc byte[512];
        var n = NativeMethods.LlamaAdapterMetaValStr(Handle, key, buf, 512);
        return n < 0 ? null : System.Runtime.InteropServices.Marshal.PtrToStringUTF8((nint)buf);
    }

    public void Dispose() => Handle.Dispose();
}

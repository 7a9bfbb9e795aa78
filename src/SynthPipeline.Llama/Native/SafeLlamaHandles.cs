using System.Runtime.InteropServices;

namespace SynthPipeline.Llama.Native;

/// <summary>Owns a llama_model. Contexts and adapters hold a reference on it, so it is freed after them.</summary>
internal sealed class SafeLlamaModelHandle : SafeHandle
{
    public SafeLlamaModelHandle() : base(IntPtr.Zero, ownsHandle: true) { }

    internal SafeLlamaModelHandle(nint handle) : this() => SetHandle(handle);

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        NativeMethods.LlamaModelFree(handle);
        return true;
    }
}

/// <summary>
/// A handle whose native object depends on parents (its model, its threadpool). It keeps them alive with
/// <see cref="SafeHandle.DangerousAddRef"/> until it is released itself, whatever order callers dispose in.
/// </summary>
internal abstract class SafeChildHandle : SafeHandle
{
    private readonly List<SafeHandle> _parents = [];

    protected SafeChildHandle() : base(IntPtr.Zero, ownsHandle: true) { }

    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>Takes ownership of <paramref name="native"/> and a reference on each parent.</summary>
    protected void Attach(nint native, params SafeHandle?[] parents)
    {
        foreach (var parent in parents)
        {
            if (parent is null) continue;
            var added = false;
            parent.DangerousAddRef(ref added);
            _parents.Add(parent);
        }
        SetHandle(native);
    }

    protected abstract void Free(nint native);

    // The child is freed first, then its parents may go.
    protected override bool ReleaseHandle()
    {
        Free(handle);
        foreach (var parent in _parents) parent.DangerousRelease();
        _parents.Clear();
        return true;
    }
}

/// <summary>
/// A persistent ggml CPU threadpool. Without one, ggml creates and joins threads for every graph computation,
/// which costs more than a whole decode step of a small model.
/// </summary>
internal sealed unsafe class SafeGgmlThreadpoolHandle : SafeHandle
{
    private readonly delegate* unmanaged[Cdecl]<nint, void> _free;

    private SafeGgmlThreadpoolHandle(nint native, delegate* unmanaged[Cdecl]<nint, void> free) : base(IntPtr.Zero, ownsHandle: true)
    {
        _free = free;
        SetHandle(native);
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>A pool of <paramref name="threads"/> threads from the loaded CPU backend, or null if it offers none.</summary>
    internal static SafeGgmlThreadpoolHandle? Create(int threads)
    {
        var reg = NativeMethods.GgmlBackendRegByName("CPU");
        if (reg == 0) return null;
        var create = (delegate* unmanaged[Cdecl]<GgmlThreadpoolParams*, nint>)NativeMethods.GgmlBackendRegGetProcAddress(reg, "ggml_threadpool_new");
        var free = (delegate* unmanaged[Cdecl]<nint, void>)NativeMethods.GgmlBackendRegGetProcAddress(reg, "ggml_threadpool_free");
        if (create is null || free is null) return null;
        GgmlThreadpoolParams p;
        NativeMethods.GgmlThreadpoolParamsInit(&p, threads);
        var pool = create(&p);
        return pool == 0 ? null : new SafeGgmlThreadpoolHandle(pool, free);
    }

    protected override bool ReleaseHandle()
    {
        _free(handle);
        return true;
    }
}

/// <summary>Owns a llama_context; keeps its model and its threadpool alive.</summary>
internal sealed class SafeLlamaContextHandle : SafeChildHandle
{
    public SafeLlamaContextHandle() { }

    internal static SafeLlamaContextHandle Create(nint native, SafeLlamaModelHandle model, SafeGgmlThreadpoolHandle? threadpool = null)
    {
        var h = new SafeLlamaContextHandle();
        h.Attach(native, model, threadpool);
        return h;
    }

    protected override void Free(nint native) => NativeMethods.LlamaFree(native);
}

/// <summary>Owns a llama_adapter_lora; keeps its model alive (llama.cpp requires the model to outlive it).</summary>
internal sealed class SafeLlamaAdapterHandle : SafeChildHandle
{
    public SafeLlamaAdapterHandle() { }

    internal static SafeLlamaAdapterHandle Create(nint native, SafeLlamaModelHandle model)
    {
        var h = new SafeLlamaAdapterHandle();
        h.Attach(native, model);
        return h;
    }

    protected override void Free(nint native) => NativeMethods.LlamaAdapterLoraFree(native);
}

/// <summary>
/// Owns a llama_sampler chain. Chains built with a grammar reference the model's vocabulary, so they keep the
/// model alive too.
/// </summary>
internal sealed class SafeLlamaSamplerHandle : SafeChildHandle
{
    public SafeLlamaSamplerHandle() { }

    internal static SafeLlamaSamplerHandle Create(nint native, SafeLlamaModelHandle model)
    {
        var h = new SafeLlamaSamplerHandle();
        h.Attach(native, model);
        return h;
    }

    protected override void Free(nint native) => NativeMethods.LlamaSamplerFree(native);
}

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
/// A handle whose native object depends on a parent (its model). It keeps the parent alive with
/// <see cref="SafeHandle.DangerousAddRef"/> until it is released itself, whatever order callers dispose in.
/// </summary>
internal abstract class SafeChildHandle : SafeHandle
{
    private SafeHandle? _parent;

    protected SafeChildHandle() : base(IntPtr.Zero, ownsHandle: true) { }

    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>Takes ownership of <paramref name="native"/> and a reference on <paramref name="parent"/>.</summary>
    protected void Attach(nint native, SafeHandle parent)
    {
        var added = false;
        parent.DangerousAddRef(ref added);
        _parent = parent;
        SetHandle(native);
    }

    protected abstract void Free(nint native);

    protected override bool ReleaseHandle()
    {
        Free(handle);
        _parent?.DangerousRelease();
        _parent = null;
        return true;
    }
}

/// <summary>Owns a llama_context; keeps its model alive.</summary>
internal sealed class SafeLlamaContextHandle : SafeChildHandle
{
    public SafeLlamaContextHandle() { }

    internal static SafeLlamaContextHandle Create(nint native, SafeLlamaModelHandle model)
    {
        var h = new SafeLlamaContextHandle();
        h.Attach(native, model);
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

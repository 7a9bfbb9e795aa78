using System.Runtime.InteropServices;

namespace SynthPipeline.Llama.Native;

/// <summary>
/// A persistent ggml CPU threadpool. Without one, ggml creates and joins threads for every graph computation,
/// which costs more than a whole decode step of a small model. LLamaSharp has no binding for it; the context that
/// uses it keeps a reference (<see cref="LlamaContext"/>), so it is freed only after the context.
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

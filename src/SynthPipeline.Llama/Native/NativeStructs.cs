using System.Runtime.InteropServices;

namespace SynthPipeline.Llama.Native;

/// <summary>
/// ggml_threadpool_params, the one struct SynthPipeline marshals itself (LLamaSharp does not bind the threadpool).
/// The ABI tests compare it with the header and with what the loaded library writes. C <c>bool</c> is one byte.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct GgmlThreadpoolParams
{
    public fixed byte Cpumask[512];
    public int NThreads;
    public int Prio;
    public uint Poll;
    public byte StrictCpu;
    public byte Paused;
}

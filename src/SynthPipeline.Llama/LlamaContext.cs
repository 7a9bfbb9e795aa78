using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SynthPipeline.Llama.Native;
using SynthPipeline.Core.Options;

namespace SynthPipeline.Llama;

/// <summary>Context settings. Zero means "llama.cpp's default" unless stated.</summary>
public sealed record LlamaContextOptions
{
    /// <summary>Total KV cells (tokens) across all sequences; 0 uses the model's training context.</summary>
    public int ContextSize { get; init; } = 4096;

    public int BatchSize { get; init; } = 512;

    public int MicroBatchSize { get; init; } = 512;

    public int SequenceCount { get; init; } = 1;

    /// <summary>Threads for generation and for prompt processing; 0 = all cores.</summary>
    public int Threads { get; init; }

    /// <summary>null = auto, true = on, false = off.</summary>
    public bool? FlashAttention { get; init; }

    /// <summary>KV cache element type.</summary>
    public KvCacheType KvCacheType { get; init; } = KvCacheType.F16;

    /// <summary>One KV buffer shared by all sequences (true), or one stream per sequence (false, what the engine uses).</summary>
    public bool UnifiedKvCache { get; init; } = true;
}

/// <summary>Result of <see cref="LlamaContext.Decode(LlamaBatch)"/>, mirroring llama_decode's return codes.</summary>
public enum DecodeStatus
{
    Ok = 0,
    NoKvSlot = 1,
    Aborted = 2,
    InvalidBatch = -1,
    Fatal = -2,
}

/// <summary>A llama_context: the KV cache and compute state for one or more sequences. Not thread-safe.</summary>
public sealed unsafe class LlamaContext : IDisposable
{
    private readonly AbortFlag _abort = new();
    private readonly SafeGgmlThreadpoolHandle? _threadpool;
    private GCHandle _abortHandle;

    private LlamaContext(LlamaModel model, SafeLlamaContextHandle handle, SafeGgmlThreadpoolHandle? threadpool)
    {
        Model = model;
        Handle = handle;
        _threadpool = threadpool;
        if (threadpool is not null) NativeMethods.LlamaAttachThreadpool(handle, threadpool.DangerousGetHandle(), threadpool.DangerousGetHandle());
        _abortHandle = GCHandle.Alloc(_abort);
        NativeMethods.LlamaSetAbortCallback(handle, &OnAbort, GCHandle.ToIntPtr(_abortHandle));
        Memory = NativeMethods.LlamaGetMemory(handle);
        VocabSize = model.Vocab.TokenCount;
    }

    internal SafeLlamaContextHandle Handle { get; }

    private nint Memory { get; }

    public LlamaModel Model { get; }

    public int VocabSize { get; }

    public int ContextSize => (int)NativeMethods.LlamaNCtx(Handle);

    public int BatchSize => (int)NativeMethods.LlamaNBatch(Handle);

    /// <exception cref="LlamaModelException">The request cannot fit the model or memory; the message says which setting to change.</exception>
    public static LlamaContext Create(LlamaModel model, LlamaContextOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new LlamaContextOptions();
        var train = model.TrainingContextLength;
        var perSequence = options.ContextSize == 0 ? train : options.ContextSize / Math.Max(1, options.SequenceCount);
        if (options.ContextSize < 0 || options.SequenceCount < 1 || options.BatchSize < 1 || options.MicroBatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(options), "context size must be >= 0; sequences, batch and micro-batch sizes >= 1");
        if (perSequence > train)
            throw new LlamaModelException(
                $"the requested context of {perSequence} tokens per sequence (Teacher:ContextPerSequence) " +
                $"exceeds what '{model.Path}' was trained for ({train} tokens); lower Teacher:ContextPerSequence");
        var p = NativeMethods.LlamaContextDefaultParams();
        p.NCtx = (uint)options.ContextSize;
        p.NBatch = (uint)options.BatchSize;
        p.NUbatch = (uint)Math.Min(options.MicroBatchSize, options.BatchSize);
        p.NSeqMax = (uint)options.SequenceCount;
        var threads = options.Threads > 0 ? options.Threads : Environment.ProcessorCount;
        p.NThreads = threads;
        p.NThreadsBatch = threads;
        p.FlashAttnType = options.FlashAttention switch { null => -1, true => 1, false => 0 };
        p.TypeK = p.TypeV = (int)ParseKvType(options.KvCacheType);
        p.KvUnified = options.UnifiedKvCache ? (byte)1 : (byte)0;
        p.NoPerf = 0;
        NativeLog.ClearRecentProblems();
        var native = NativeMethods.LlamaInitFromModel(model.Handle, p);
        if (native == 0)
        {
            var why = NativeLog.TakeRecentProblems();
            throw new LlamaModelException(
                $"llama.cpp could not create a context of {options.ContextSize} tokens for '{model.Path}' " +
                $"(probably out of memory: lower Teacher:ContextPerSequence or Teacher:ParallelSequences)" + (why.Length > 0 ? $": {why}" : string.Empty));
        }
        var threadpool = SafeGgmlThreadpoolHandle.Create(threads);
        return new LlamaContext(model, SafeLlamaContextHandle.Create(native, model.Handle, threadpool), threadpool);
    }

    /// <summary>Decodes tokens [start, start+count) of <paramref name="batch"/>.</summary>
    public DecodeStatus Decode(LlamaBatch batch, int start, int count)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var rc = NativeMethods.LlamaDecode(Handle, batch.ToNative(start, count));
        return rc switch { 0 => DecodeStatus.Ok, 1 => DecodeStatus.NoKvSlot, 2 => DecodeStatus.Aborted, -1 => DecodeStatus.InvalidBatch, _ => DecodeStatus.Fatal };
    }

    public DecodeStatus Decode(LlamaBatch batch) => Decode(batch, 0, batch.Count);

    /// <summary>Logits of output <paramref name="index"/> of the last decode (batch index of a token that asked for logits).</summary>
    public ReadOnlySpan<float> Logits(int index)
    {
        var p = NativeMethods.LlamaGetLogitsIth(Handle, index);
        if (p is null) throw new ArgumentOutOfRangeException(nameof(index), $"no logits for batch index {index}");
        return new ReadOnlySpan<float>(p, VocabSize);
    }

    /// <summary>
    /// Attaches <paramref name="sampler"/> to a sequence so llama.cpp samples its outputs inside the compute graph
    /// (no full-vocabulary logits copied to the host); null detaches. The caller keeps the sampler alive while
    /// attached. Returns false when llama.cpp keeps the sequence on CPU sampling.
    /// </summary>
    public bool SetBackendSampler(int sequence, LlamaSampler? sampler) =>
        NativeMethods.LlamaSetSampler(Handle, sequence, sampler is null ? 0 : sampler.Handle.DangerousGetHandle());

    /// <summary>True when the last decode sampled output <paramref name="index"/> in the graph (backend sampling).</summary>
    public bool HasBackendSample(int index) => NativeMethods.LlamaGetSampledTokenIth(Handle, index) >= 0;

    public void ClearMemory() => NativeMethods.LlamaMemoryClear(Memory, true);

    /// <summary>Removes positions [p0, p1) of a sequence (-1 = open end). Removing a whole sequence always succeeds.</summary>
    public bool RemoveSequence(int sequence, int p0 = -1, int p1 = -1) => NativeMethods.LlamaMemorySeqRm(Memory, sequence, p0, p1);

    /// <summary>Shares positions [p0, p1) of <paramref name="source"/> with <paramref name="destination"/> without recomputing them.</summary>
    public void CopySequence(int source, int destination, int p0 = -1, int p1 = -1) => NativeMethods.LlamaMemorySeqCp(Memory, source, destination, p0, p1);

    /// <summary>The highest position stored for a sequence, or -1 if it is empty.</summary>
    public int SequenceMaxPosition(int sequence) => NativeMethods.LlamaMemorySeqPosMax(Memory, sequence);

    /// <summary>Applies LoRA adapters with their scales (replacing any applied before); an empty list removes them.</summary>
    public void SetLoraAdapters(IReadOnlyList<(LlamaLoraAdapter Adapter, float Scale)> adapters)
    {
        ArgumentNullException.ThrowIfNull(adapters);
        var ptrs = stackalloc nint[Math.Max(1, adapters.Count)];
        var scales = stackalloc float[Math.Max(1, adapters.Count)];
        for (var i = 0; i < adapters.Count; i++)
        {
            ptrs[i] = adapters[i].Adapter.Handle.DangerousGetHandle();
            scales[i] = adapters[i].Scale;
        }
        var rc = NativeMethods.LlamaSetAdaptersLora(Handle, ptrs, (nuint)adapters.Count, scales);
        if (rc != 0) throw new LlamaModelException($"llama.cpp refused the LoRA adapters (code {rc}): {NativeLog.TakeRecentProblems()}");
    }

    /// <summary>Makes a running <see cref="Decode(LlamaBatch)"/> return <see cref="DecodeStatus.Aborted"/> when the token is cancelled.</summary>
    public CancellationTokenRegistration AbortOn(CancellationToken token)
    {
        _abort.Requested = 0;
        return token.Register(static s => ((AbortFlag)s!).Requested = 1, _abort);
    }

    /// <summary>True when a persistent ggml CPU threadpool is attached (else ggml makes one per decode).</summary>
    public bool HasPersistentThreadpool => _threadpool is not null;

    public void Dispose()
    {
        Handle.Dispose();
        _threadpool?.Dispose();
        if (_abortHandle.IsAllocated) _abortHandle.Free();
    }

    private sealed class AbortFlag
    {
        public volatile int Requested;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static byte OnAbort(nint data) => ((AbortFlag)GCHandle.FromIntPtr(data).Target!).Requested != 0 ? (byte)1 : (byte)0;

    private static Gguf.GgmlType ParseKvType(KvCacheType type) => type switch
    {
        KvCacheType.F16 => Gguf.GgmlType.F16,
        KvCacheType.F32 => Gguf.GgmlType.F32,
        KvCacheType.BF16 => Gguf.GgmlType.BF16,
        KvCacheType.Q8_0 => Gguf.GgmlType.Q8_0,
        KvCacheType.Q4_0 => Gguf.GgmlType.Q4_0,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a KV cache type"),
    };
}

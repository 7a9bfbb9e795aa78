using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using LLama.Native;
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

/// <summary>
/// A llama_context over LLamaSharp's <see cref="SafeLLamaContextHandle"/> (which keeps the model alive): the KV cache
/// and compute state for one or more sequences, with a persistent CPU threadpool attached. Not thread-safe.
/// </summary>
public sealed unsafe class LlamaContext : IDisposable
{
    private readonly AbortFlag _abort = new();
    private readonly Func<bool> _aborted;
    private readonly SafeGgmlThreadpoolHandle? _threadpool;
    private readonly nint _memory;
    private GCHandle _abortHandle;
    private bool _threadpoolReferenced;

    private LlamaContext(LlamaModel model, SafeLLamaContextHandle handle, SafeGgmlThreadpoolHandle? threadpool)
    {
        Model = model;
        Handle = handle;
        _threadpool = threadpool;
        if (threadpool is not null)
        {
            // The context computes on the pool until it is freed: hold the pool until then, whatever the disposal order.
            threadpool.DangerousAddRef(ref _threadpoolReferenced);
            NativeMethods.LlamaAttachThreadpool(handle, threadpool.DangerousGetHandle(), threadpool.DangerousGetHandle());
        }
        _aborted = () => _abort.Requested != 0;
        _abortHandle = GCHandle.Alloc(_abort);
        NativeApi.llama_set_abort_callback(handle, (nint)(delegate* unmanaged[Cdecl]<nint, byte>)&OnAbort, GCHandle.ToIntPtr(_abortHandle));
        _memory = NativeMethods.LlamaGetMemory(handle);
        VocabSize = model.Vocab.TokenCount;
    }

    internal SafeLLamaContextHandle Handle { get; }

    public LlamaModel Model { get; }

    public int VocabSize { get; }

    public int ContextSize => (int)Handle.ContextSize;

    public int BatchSize => (int)Handle.BatchSize;

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
        var p = LLamaContextParams.Default();
        p.n_ctx = (uint)options.ContextSize;
        p.n_batch = (uint)options.BatchSize;
        p.n_ubatch = (uint)Math.Min(options.MicroBatchSize, options.BatchSize);
        p.n_seq_max = (uint)options.SequenceCount;
        var threads = options.Threads > 0 ? options.Threads : Environment.ProcessorCount;
        p.n_threads = threads;
        p.n_threads_batch = threads;
        p.llama_flash_attn_type = options.FlashAttention switch
        {
            null => LLamaFlashAttentionType.LLAMA_FLASH_ATTENTION_TYPE_AUTO,
            true => LLamaFlashAttentionType.LLAMA_FLASH_ATTENTION_TYPE_ENABLED,
            false => LLamaFlashAttentionType.LLAMA_FLASH_ATTENTION_TYPE_DISABLED,
        };
        p.type_k = p.type_v = KvType(options.KvCacheType);
        p.kv_unified = options.UnifiedKvCache;
        p.no_perf = false;
        NativeLog.ClearRecentProblems();
        SafeLLamaContextHandle handle;
        try
        {
            handle = SafeLLamaContextHandle.Create(model.Handle, p);
        }
        catch (LLama.Exceptions.RuntimeError)
        {
            var why = NativeLog.TakeRecentProblems();
            throw new LlamaModelException(
                $"llama.cpp could not create a context of {options.ContextSize} tokens for '{model.Path}' " +
                $"(probably out of memory: lower Teacher:ContextPerSequence, Teacher:ParallelSequences or Teacher:PrefixCacheSlots)" + (why.Length > 0 ? $": {why}" : string.Empty));
        }
        return new LlamaContext(model, handle, SafeGgmlThreadpoolHandle.Create(threads));
    }

    /// <summary>Decodes tokens [start, start+count) of <paramref name="batch"/> (LLamaSharp decodes whole batches only, so this call is bound here).</summary>
    public DecodeStatus Decode(LlamaBatch batch, int start, int count)
    {
        ArgumentNullException.ThrowIfNull(batch);
        int rc;
        // An aborted decode makes llama.cpp log its failure as errors on this thread; they are expected then.
        var outer = NativeLog.DecodeAborted;
        NativeLog.DecodeAborted = _aborted;
        try
        {
            rc = NativeMethods.LlamaDecode(Handle, batch.ToNative(start, count));
        }
        finally
        {
            NativeLog.DecodeAborted = outer;
        }
        return rc switch { 0 => DecodeStatus.Ok, 1 => DecodeStatus.NoKvSlot, 2 => DecodeStatus.Aborted, -1 => DecodeStatus.InvalidBatch, _ => DecodeStatus.Fatal };
    }

    public DecodeStatus Decode(LlamaBatch batch) => Decode(batch, 0, batch.Count);

    /// <summary>Logits of output <paramref name="index"/> of the last decode (batch index of a token that asked for logits).</summary>
    public ReadOnlySpan<float> Logits(int index)
    {
        try
        {
            return Handle.GetLogitsIth(index);
        }
        catch (LLama.Exceptions.GetLogitsInvalidIndexException e)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"no logits for batch index {index}: {e.Message}");
        }
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

    /// <summary>Candidates an attached chain's in-graph cut left for batch index <paramref name="index"/> (0: none, the logits are whole).</summary>
    public int BackendCandidates(int index) => (int)NativeMethods.LlamaGetSampledCandidatesCountIth(Handle, index);

    public void ClearMemory() => Handle.MemoryClear(true);

    /// <summary>Removes positions [p0, p1) of a sequence (-1 = open end). Removing a whole sequence always succeeds.</summary>
    public bool RemoveSequence(int sequence, int p0 = -1, int p1 = -1) => NativeMethods.LlamaMemorySeqRm(_memory, sequence, p0, p1);

    /// <summary>Shares positions [p0, p1) of <paramref name="source"/> with <paramref name="destination"/> without recomputing them.</summary>
    public void CopySequence(int source, int destination, int p0 = -1, int p1 = -1) => Handle.MemorySequenceCopy((LLamaSeqId)source, (LLamaSeqId)destination, p0, p1);

    /// <summary>The highest position stored for a sequence, or -1 if it is empty.</summary>
    public int SequenceMaxPosition(int sequence) => Handle.MemorySequenceMaxPosition((LLamaSeqId)sequence).Value;

    /// <summary>Applies LoRA adapters with their scales (replacing any applied before); an empty list removes them.</summary>
    public void SetLoraAdapters(IReadOnlyList<(LlamaLoraAdapter Adapter, float Scale)> adapters)
    {
        ArgumentNullException.ThrowIfNull(adapters);
        var native = adapters.Select(a => (a.Adapter.Native, a.Scale)).ToArray();
        try
        {
            Handle.SetLoraAdapters(native);
        }
        catch (LLama.Exceptions.RuntimeError e)
        {
            throw new LlamaModelException($"llama.cpp refused the LoRA adapters ({e.Message}): {NativeLog.TakeRecentProblems()}");
        }
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
        if (_threadpoolReferenced)
        {
            _threadpool!.DangerousRelease();
            _threadpoolReferenced = false;
        }
        _threadpool?.Dispose();
        if (_abortHandle.IsAllocated) _abortHandle.Free();
    }

    private sealed class AbortFlag
    {
        public volatile int Requested;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static byte OnAbort(nint data) => ((AbortFlag)GCHandle.FromIntPtr(data).Target!).Requested != 0 ? (byte)1 : (byte)0;

    // LLamaSharp's GGMLType has no BF16 member; the numeric value is ggml's.
    private static GGMLType KvType(KvCacheType type) => type switch
    {
        KvCacheType.F16 => GGMLType.GGML_TYPE_F16,
        KvCacheType.F32 => GGMLType.GGML_TYPE_F32,
        KvCacheType.BF16 => (GGMLType)(int)Gguf.GgmlType.BF16,
        KvCacheType.Q8_0 => GGMLType.GGML_TYPE_Q8_0,
        KvCacheType.Q4_0 => GGMLType.GGML_TYPE_Q4_0,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a KV cache type"),
    };
}

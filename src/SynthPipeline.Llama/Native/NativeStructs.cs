using System.Runtime.InteropServices;

namespace SynthPipeline.Llama.Native;

// Mirrors of the structs in llama.cpp v0.5.0's include/llama.h. The ABI test compiles a C probe against that exact
// header and compares every size and offset, so a layout drift fails the build instead of corrupting memory.
// C `bool` is one byte: fields are `byte` to stay blittable for [LibraryImport].

/// <summary>llama_model_params.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct LlamaModelParams
{
    public nint Devices;
    public nint TensorBuftOverrides;
    public int NGpuLayers;
    public int SplitMode;
    public int LoadMode;
    public int LazyMode;
    public int MainGpu;
    public nint TensorSplit;
    public nint ProgressCallback;
    public nint ProgressCallbackUserData;
    public nint KvOverrides;
    public byte VocabOnly;
    public byte CheckTensors;
    public byte UseExtraBufts;
    public byte NoHost;
    public byte NoAlloc;
    public byte LoadMtp;
}

/// <summary>llama_context_params.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct LlamaContextParams
{
    public uint NCtx;
    public uint NBatch;
    public uint NUbatch;
    public uint NSeqMax;
    public uint NRsSeq;
    public uint NOutputsMax;
    public uint NOutputsMaxPerSeq;
    public int NThreads;
    public int NThreadsBatch;
    public int CtxType;
    public int RopeScalingType;
    public int PoolingType;
    public int AttentionType;
    public int FlashAttnType;
    public float RopeFreqBase;
    public float RopeFreqScale;
    public float YarnExtFactor;
    public float YarnAttnFactor;
    public float YarnBetaFast;
    public float YarnBetaSlow;
    public uint YarnOrigCtx;
    public float DefragThold;
    public nint CbEval;
    public nint CbEvalUserData;
    public int TypeK;
    public int TypeV;
    public nint AbortCallback;
    public nint AbortCallbackData;
    public byte Embeddings;
    public byte OffloadKqv;
    public byte NoPerf;
    public byte OpOffload;
    public byte SwaFull;
    public byte KvUnified;
    public nint Samplers;
    public nuint NSamplers;
    public nint CtxOther;
}

/// <summary>llama_batch: arrays are owned by LlamaBatch.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct LlamaBatchNative
{
    public int NTokens;
    public int* Token;
    public float* Embd;
    public int* Pos;
    public int* NSeqId;
    public int** SeqId;
    public sbyte* Logits;
}

/// <summary>llama_token_data.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct LlamaTokenData
{
    public int Id;
    public float Logit;
    public float P;
}

/// <summary>llama_token_data_array.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct LlamaTokenDataArray
{
    public LlamaTokenData* Data;
    public nuint Size;
    public long Selected;
    public byte Sorted;
}

/// <summary>llama_chat_message: both pointers are UTF-8, NUL-terminated.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct LlamaChatMessageNative
{
    public byte* Role;
    public byte* Content;
}

/// <summary>llama_sampler_chain_params.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct LlamaSamplerChainParams
{
    public byte NoPerf;
}

/// <summary>llama_sampler_seq_config: one backend sampler chain per sequence.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct LlamaSamplerSeqConfig
{
    public int SeqId;
    public nint Sampler;
}

/// <summary>llama_logit_bias.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct LlamaLogitBias
{
    public int Token;
    public float Bias;
}

/// <summary>llama_model_quantize_params.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct LlamaModelQuantizeParams
{
    public int Nthread;
    public int Ftype;
    public int OutputTensorType;
    public int TokenEmbeddingType;
    public byte AllowRequantize;
    public byte QuantizeOutputTensor;
    public byte OnlyCopy;
    public byte Pure;
    public byte KeepSplit;
    public byte DryRun;
    public nint Imatrix;
    public nint KvOverrides;
    public nint TtOverrides;
    public nint PruneLayers;
    public nuint MaxBufSize;
}

/// <summary>ggml_threadpool_params (GGML_MAX_N_THREADS = 512).</summary>
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

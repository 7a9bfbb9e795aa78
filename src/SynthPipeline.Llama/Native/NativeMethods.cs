using System.Runtime.InteropServices;
using LLama.Native;

namespace SynthPipeline.Llama.Native;

/// <summary>
/// The few llama.cpp and ggml functions LLamaSharp 0.30 does not expose, bound against the very libraries LLamaSharp
/// loaded (<see cref="LlamaLibrary"/> resolves these names to them): decoding part of a batch, the memory handle,
/// in-graph sampling, the persistent CPU threadpool, a null-checked grammar, device descriptions, the build's ggml
/// version, and detokenizing (which needs the vocabulary's pointer). Structs are LLamaSharp's, except <see cref="GgmlThreadpoolParams"/> (ABI-tested).
/// </summary>
internal static unsafe partial class NativeMethods
{
    internal const string Llama = "synth-llama";
    internal const string Ggml = "synth-ggml";
    internal const string GgmlBase = "synth-ggml-base";

    // DllImport: the source-generated marshaller does not take LLamaSharp's batch struct by value.
    [DllImport(Llama, EntryPoint = "llama_decode", ExactSpelling = true)]
    internal static extern int LlamaDecode(SafeLLamaContextHandle context, LLamaNativeBatch batch);

    [LibraryImport(Llama, EntryPoint = "llama_get_memory")]
    internal static partial nint LlamaGetMemory(SafeLLamaContextHandle context);

    [LibraryImport(Llama, EntryPoint = "llama_memory_seq_rm")]
    [return: MarshalAs(UnmanagedType.U1)]
    internal static partial bool LlamaMemorySeqRm(nint memory, int seqId, int p0, int p1);

    /// <summary>Attaches a sampler chain to a sequence for backend (in-graph) sampling; null detaches it.</summary>
    [LibraryImport(Llama, EntryPoint = "llama_set_sampler")]
    [return: MarshalAs(UnmanagedType.U1)]
    internal static partial bool LlamaSetSampler(SafeLLamaContextHandle context, int sequence, nint sampler);

    [LibraryImport(Llama, EntryPoint = "llama_get_sampled_token_ith")]
    internal static partial int LlamaGetSampledTokenIth(SafeLLamaContextHandle context, int index);

    [LibraryImport(Llama, EntryPoint = "llama_get_sampled_candidates_count_ith")]
    internal static partial uint LlamaGetSampledCandidatesCountIth(SafeLLamaContextHandle context, int index);

    [LibraryImport(Llama, EntryPoint = "llama_attach_threadpool")]
    internal static partial void LlamaAttachThreadpool(SafeLLamaContextHandle context, nint threadpool, nint threadpoolBatch);

    // LLamaSharp's AddGrammar hands a NULL sampler (an unparsable grammar) to the chain, which crashes the process;
    // these two let the grammar be checked first.
    [LibraryImport(Llama, EntryPoint = "llama_sampler_init_grammar", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint LlamaSamplerInitGrammar(nint vocab, string grammar, string root);

    [LibraryImport(Llama, EntryPoint = "llama_sampler_chain_add")]
    internal static partial void LlamaSamplerChainAdd(SafeLLamaSamplerChainHandle chain, nint sampler);

    [LibraryImport(Llama, EntryPoint = "llama_model_get_vocab")]
    internal static partial nint LlamaModelGetVocab(SafeLlamaModelHandle model);

    [LibraryImport(Llama, EntryPoint = "llama_detokenize")]
    internal static partial int LlamaDetokenize(nint vocab, int* tokens, int nTokens, byte* text, int textLenMax,
        [MarshalAs(UnmanagedType.U1)] bool removeSpecial, [MarshalAs(UnmanagedType.U1)] bool unparseSpecial);

    [LibraryImport(GgmlBase, EntryPoint = "ggml_backend_dev_description")]
    internal static partial byte* GgmlBackendDevDescription(nint device);

    [LibraryImport(GgmlBase, EntryPoint = "ggml_commit")]
    internal static partial byte* GgmlCommit();

    [LibraryImport(GgmlBase, EntryPoint = "ggml_version")]
    internal static partial byte* GgmlVersion();

    [LibraryImport(GgmlBase, EntryPoint = "ggml_threadpool_params_init")]
    internal static partial void GgmlThreadpoolParamsInit(GgmlThreadpoolParams* parameters, int nThreads);

    [LibraryImport(Ggml, EntryPoint = "ggml_backend_reg_by_name", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint GgmlBackendRegByName(string name);

    [LibraryImport(GgmlBase, EntryPoint = "ggml_backend_reg_get_proc_address", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint GgmlBackendRegGetProcAddress(nint reg, string name);

    internal static string? Utf8(byte* text) => text is null ? null : Marshal.PtrToStringUTF8((nint)text);
}

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SynthPipeline.Llama.Native;

/// <summary>
/// The C surface of llama.cpp v0.5.0 that SynthPipeline uses. Library names are logical ("llama", "ggml"):
/// <see cref="LlamaLibrary"/> resolves them to files in the configured native folder.
/// </summary>
internal static unsafe partial class NativeMethods
{
    internal const string Llama = "llama";
    internal const string Ggml = "ggml";
    internal const string GgmlBase = "ggml-base";

    // --- backend and logging ---
    [LibraryImport(Ggml, EntryPoint = "ggml_backend_load_all_from_path", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial void GgmlBackendLoadAllFromPath(string dirPath);

    [LibraryImport(Ggml, EntryPoint = "ggml_backend_dev_count")]
    internal static partial nuint GgmlBackendDevCount();

    [LibraryImport(Ggml, EntryPoint = "ggml_backend_dev_get")]
    internal static partial nint GgmlBackendDevGet(nuint index);

    [LibraryImport(GgmlBase, EntryPoint = "ggml_backend_dev_name")]
    internal static partial byte* GgmlBackendDevName(nint device);

    [LibraryImport(GgmlBase, EntryPoint = "ggml_backend_dev_description")]
    internal static partial byte* GgmlBackendDevDescription(nint device);

    [LibraryImport(Ggml, EntryPoint = "ggml_backend_reg_by_name", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint GgmlBackendRegByName(string name);

    [LibraryImport(GgmlBase, EntryPoint = "ggml_backend_reg_get_proc_address", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint GgmlBackendRegGetProcAddress(nint reg, string name);

    [LibraryImport(GgmlBase, EntryPoint = "ggml_threadpool_params_init")]
    internal static partial void GgmlThreadpoolParamsInit(GgmlThreadpoolParams* parameters, int nThreads);

    [LibraryImport(Llama, EntryPoint = "llama_attach_threadpool")]
    internal static partial void LlamaAttachThreadpool(SafeLlamaContextHandle context, nint threadpool, nint threadpoolBatch);

    [LibraryImport(Llama, EntryPoint = "llama_backend_init")]
    internal static partial void LlamaBackendInit();

    [LibraryImport(Llama, EntryPoint = "llama_version")]
    internal static partial byte* LlamaVersion();

    [LibraryImport(Llama, EntryPoint = "llama_supports_gpu_offload")]
    [return: MarshalAs(UnmanagedType.U1)]
    internal static partial bool LlamaSupportsGpuOffload();

    [LibraryImport(Llama, EntryPoint = "llama_log_set")]
    internal static partial void LlamaLogSet(delegate* unmanaged[Cdecl]<int, byte*, nint, void> callback, nint userData);

    // --- model ---
    [LibraryImport(Llama, EntryPoint = "llama_model_default_params")]
    internal static partial LlamaModelParams LlamaModelDefaultParams();

    [LibraryImport(Llama, EntryPoint = "llama_model_load_from_file", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint LlamaModelLoadFromFile(string path, LlamaModelParams parameters);

    [LibraryImport(Llama, EntryPoint = "llama_model_free")]
    internal static partial void LlamaModelFree(nint model);

    [LibraryImport(Llama, EntryPoint = "llama_model_get_vocab")]
    internal static partial nint LlamaModelGetVocab(SafeLlamaModelHandle model);

    [LibraryImport(Llama, EntryPoint = "llama_model_n_ctx_train")]
    internal static partial int LlamaModelNCtxTrain(SafeLlamaModelHandle model);

    [LibraryImport(Llama, EntryPoint = "llama_model_n_embd")]
    internal static partial int LlamaModelNEmbd(SafeLlamaModelHandle model);

    [LibraryImport(Llama, EntryPoint = "llama_model_n_layer")]
    internal static partial int LlamaModelNLayer(SafeLlamaModelHandle model);

    [LibraryImport(Llama, EntryPoint = "llama_model_n_params")]
    internal static partial ulong LlamaModelNParams(SafeLlamaModelHandle model);

    [LibraryImport(Llama, EntryPoint = "llama_model_size")]
    internal static partial ulong LlamaModelSize(SafeLlamaModelHandle model);

    [LibraryImport(Llama, EntryPoint = "llama_model_desc")]
    internal static partial int LlamaModelDesc(SafeLlamaModelHandle model, byte* buf, nuint bufSize);

    [LibraryImport(Llama, EntryPoint = "llama_model_chat_template", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial byte* LlamaModelChatTemplate(SafeLlamaModelHandle model, string? name);

    [LibraryImport(Llama, EntryPoint = "llama_model_meta_count")]
    internal static partial int LlamaModelMetaCount(SafeLlamaModelHandle model);

    [LibraryImport(Llama, EntryPoint = "llama_model_meta_key_by_index")]
    internal static partial int LlamaModelMetaKeyByIndex(SafeLlamaModelHandle model, int index, byte* buf, nuint bufSize);

    [LibraryImport(Llama, EntryPoint = "llama_model_meta_val_str_by_index")]
    internal static partial int LlamaModelMetaValStrByIndex(SafeLlamaModelHandle model, int index, byte* buf, nuint bufSize);

    [LibraryImport(Llama, EntryPoint = "llama_model_quantize_default_params")]
    internal static partial LlamaModelQuantizeParams LlamaModelQuantizeDefaultParams();

    [LibraryImport(Llama, EntryPoint = "llama_model_quantize", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial uint LlamaModelQuantize(string inputPath, string outputPath, LlamaModelQuantizeParams* parameters);

    // --- context ---
    [LibraryImport(Llama, EntryPoint = "llama_context_default_params")]
    internal static partial LlamaContextParams LlamaContextDefaultParams();

    [LibraryImport(Llama, EntryPoint = "llama_init_from_model")]
    internal static partial nint LlamaInitFromModel(SafeLlamaModelHandle model, LlamaContextParams parameters);

    [LibraryImport(Llama, EntryPoint = "llama_free")]
    internal static partial void LlamaFree(nint context);

    [LibraryImport(Llama, EntryPoint = "llama_n_ctx")]
    internal static partial uint LlamaNCtx(SafeLlamaContextHandle context);

    [LibraryImport(Llama, EntryPoint = "llama_n_batch")]
    internal static partial uint LlamaNBatch(SafeLlamaContextHandle context);

    [LibraryImport(Llama, EntryPoint = "llama_decode")]
    internal static partial int LlamaDecode(SafeLlamaContextHandle context, LlamaBatchNative batch);

    [LibraryImport(Llama, EntryPoint = "llama_get_logits_ith")]
    internal static partial float* LlamaGetLogitsIth(SafeLlamaContextHandle context, int index);

    [LibraryImport(Llama, EntryPoint = "llama_set_abort_callback")]
    internal static partial void LlamaSetAbortCallback(SafeLlamaContextHandle context, delegate* unmanaged[Cdecl]<nint, byte> callback, nint data);

    // --- memory (KV cache) ---
    [LibraryImport(Llama, EntryPoint = "llama_get_memory")]
    internal static partial nint LlamaGetMemory(SafeLlamaContextHandle context);

    [LibraryImport(Llama, EntryPoint = "llama_memory_clear")]
    internal static partial void LlamaMemoryClear(nint memory, [MarshalAs(UnmanagedType.U1)] bool data);

    [LibraryImport(Llama, EntryPoint = "llama_memory_seq_rm")]
    [return: MarshalAs(UnmanagedType.U1)]
    internal static partial bool LlamaMemorySeqRm(nint memory, int seqId, int p0, int p1);

    [LibraryImport(Llama, EntryPoint = "llama_memory_seq_cp")]
    internal static partial void LlamaMemorySeqCp(nint memory, int seqIdSrc, int seqIdDst, int p0, int p1);

    [LibraryImport(Llama, EntryPoint = "llama_memory_seq_pos_max")]
    internal static partial int LlamaMemorySeqPosMax(nint memory, int seqId);

    // --- vocab ---
    [LibraryImport(Llama, EntryPoint = "llama_vocab_n_tokens")]
    internal static partial int LlamaVocabNTokens(nint vocab);

    [LibraryImport(Llama, EntryPoint = "llama_vocab_type")]
    internal static partial int LlamaVocabType(nint vocab);

    [LibraryImport(Llama, EntryPoint = "llama_vocab_bos")]
    internal static partial int LlamaVocabBos(nint vocab);

    [LibraryImport(Llama, EntryPoint = "llama_vocab_eos")]
    internal static partial int LlamaVocabEos(nint vocab);

    [LibraryImport(Llama, EntryPoint = "llama_vocab_is_eog")]
    [return: MarshalAs(UnmanagedType.U1)]
    internal static partial bool LlamaVocabIsEog(nint vocab, int token);

    [LibraryImport(Llama, EntryPoint = "llama_vocab_is_control")]
    [return: MarshalAs(UnmanagedType.U1)]
    internal static partial bool LlamaVocabIsControl(nint vocab, int token);

    [LibraryImport(Llama, EntryPoint = "llama_vocab_get_text")]
    internal static partial byte* LlamaVocabGetText(nint vocab, int token);

    [LibraryImport(Llama, EntryPoint = "llama_vocab_get_add_bos")]
    [return: MarshalAs(UnmanagedType.U1)]
    internal static partial bool LlamaVocabGetAddBos(nint vocab);

    [LibraryImport(Llama, EntryPoint = "llama_tokenize")]
    internal static partial int LlamaTokenize(nint vocab, byte* text, int textLen, int* tokens, int nTokensMax,
        [MarshalAs(UnmanagedType.U1)] bool addSpecial, [MarshalAs(UnmanagedType.U1)] bool parseSpecial);

    [LibraryImport(Llama, EntryPoint = "llama_token_to_piece")]
    internal static partial int LlamaTokenToPiece(nint vocab, int token, byte* buf, int length, int lstrip,
        [MarshalAs(UnmanagedType.U1)] bool special);

    [LibraryImport(Llama, EntryPoint = "llama_detokenize")]
    internal static partial int LlamaDetokenize(nint vocab, int* tokens, int nTokens, byte* text, int textLenMax,
        [MarshalAs(UnmanagedType.U1)] bool removeSpecial, [MarshalAs(UnmanagedType.U1)] bool unparseSpecial);

    // --- chat template ---
    [LibraryImport(Llama, EntryPoint = "llama_chat_apply_template")]
    internal static partial int LlamaChatApplyTemplate(byte* template, LlamaChatMessageNative* chat, nuint nMessages,
        [MarshalAs(UnmanagedType.U1)] bool addAssistant, byte* buf, int length);

    // --- samplers ---
    [LibraryImport(Llama, EntryPoint = "llama_sampler_chain_default_params")]
    internal static partial LlamaSamplerChainParams LlamaSamplerChainDefaultParams();

    [LibraryImport(Llama, EntryPoint = "llama_sampler_chain_init")]
    internal static partial nint LlamaSamplerChainInit(LlamaSamplerChainParams parameters);

    [LibraryImport(Llama, EntryPoint = "llama_sampler_chain_add")]
    internal static partial void LlamaSamplerChainAdd(SafeLlamaSamplerHandle chain, nint sampler);

    [LibraryImport(Llama, EntryPoint = "llama_sampler_chain_n")]
    internal static partial int LlamaSamplerChainN(SafeLlamaSamplerHandle chain);

    [LibraryImport(Llama, EntryPoint = "llama_sampler_free")]
    internal static partial void LlamaSamplerFree(nint sampler);

    /// <summary>Attaches a sampler chain to a sequence for backend (in-graph) sampling; null detaches it.</summary>
    [LibraryImport(Llama, EntryPoint = "llama_set_sampler")]
    [return: MarshalAs(UnmanagedType.U1)]
    internal static partial bool LlamaSetSampler(SafeLlamaContextHandle context, int sequence, nint sampler);

    [LibraryImport(Llama, EntryPoint = "llama_get_sampled_token_ith")]
    internal static partial int LlamaGetSampledTokenIth(SafeLlamaContextHandle context, int index);

    [LibraryImport(Llama, EntryPoint = "llama_sampler_sample")]
    internal static partial int LlamaSamplerSample(SafeLlamaSamplerHandle sampler, SafeLlamaContextHandle context, int index);

    [LibraryImport(Llama, EntryPoint = "llama_sampler_init_greedy")]
    internal static partial nint LlamaSamplerInitGreedy();

    [LibraryImport(Llama, EntryPoint = "llama_sampler_init_dist")]
    internal static partial nint LlamaSamplerInitDist(uint seed);

    [LibraryImport(Llama, EntryPoint = "llama_sampler_init_top_k")]
    internal static partial nint LlamaSamplerInitTopK(int k);

    [LibraryImport(Llama, EntryPoint = "llama_sampler_init_top_p")]
    internal static partial nint LlamaSamplerInitTopP(float p, nuint minKeep);

    [LibraryImport(Llama, EntryPoint = "llama_sampler_init_min_p")]
    internal static partial nint LlamaSamplerInitMinP(float p, nuint minKeep);

    [LibraryImport(Llama, EntryPoint = "llama_sampler_init_temp")]
    internal static partial nint LlamaSamplerInitTemp(float t);

    [LibraryImport(Llama, EntryPoint = "llama_sampler_init_penalties")]
    internal static partial nint LlamaSamplerInitPenalties(int penaltyLastN, float penaltyRepeat, float penaltyFreq, float penaltyPresent);

    [LibraryImport(Llama, EntryPoint = "llama_sampler_init_grammar", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint LlamaSamplerInitGrammar(nint vocab, string grammar, string root);

    // --- LoRA adapters ---
    [LibraryImport(Llama, EntryPoint = "llama_adapter_lora_init", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint LlamaAdapterLoraInit(SafeLlamaModelHandle model, string path);

    [LibraryImport(Llama, EntryPoint = "llama_adapter_lora_free")]
    internal static partial void LlamaAdapterLoraFree(nint adapter);

    [LibraryImport(Llama, EntryPoint = "llama_adapter_meta_val_str", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int LlamaAdapterMetaValStr(SafeLlamaAdapterHandle adapter, string key, byte* buf, nuint bufSize);

    [LibraryImport(Llama, EntryPoint = "llama_set_adapters_lora")]
    internal static partial int LlamaSetAdaptersLora(SafeLlamaContextHandle context, nint* adapters, nuint count, float* scales);

    internal static string? Utf8(byte* text) => text is null ? null : Marshal.PtrToStringUTF8((nint)text);
}

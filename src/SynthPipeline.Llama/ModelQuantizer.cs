using LLama.Native;
using SynthPipeline.Llama.Native;
using SynthPipeline.Core;

namespace SynthPipeline.Llama;

/// <summary>Quantizes a GGUF model with llama.cpp's own quantizer (llama_model_quantize).</summary>
public static class ModelQuantizer
{
    /// <summary>Names accepted by <see cref="Quantize"/>, mapped to llama_ftype.</summary>
    public static IReadOnlyDictionary<string, int> FileTypes { get; } = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase)
    {
        ["f32"] = 0, ["f16"] = 1, ["q4_0"] = 2, ["q8_0"] = 7, ["q4_k_s"] = 14, ["q4_k_m"] = 15, ["q5_k_m"] = 17, ["q6_k"] = 18, ["bf16"] = 32,
    };

    /// <exception cref="ArgumentException">Unknown file type.</exception>
    /// <exception cref="LlamaModelException">llama.cpp failed; the message carries its reason.</exception>
    public static void Quantize(string inputPath, string outputPath, string fileType, int threads = 0)
    {
        if (!FileTypes.TryGetValue(fileType, out var ftype))
            throw new UserErrorException($"unknown quantization type '{fileType}'; use one of {string.Join(", ", FileTypes.Keys)}");
        Gguf.GgufReader.Read(inputPath);
        LlamaLibrary.EnsureInitialized();
        var p = LLamaModelQuantizeParams.Default();
        p.ftype = (LLamaFtype)ftype;
        p.nthread = threads;
        p.allow_requantize = true;
        NativeLog.ClearRecentProblems();
        var rc = NativeApi.llama_model_quantize(inputPath, outputPath, ref p);
        if (rc != 0) throw new LlamaModelException($"llama.cpp could not quantize '{inputPath}' to {fileType}: {NativeLog.TakeRecentProblems()}");
    }
}

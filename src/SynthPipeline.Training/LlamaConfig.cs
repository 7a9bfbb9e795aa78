using SynthPipeline.Llama.Gguf;
using SynthPipeline.Core;

namespace SynthPipeline.Training;

/// <summary>The hyperparameters of a Llama-family decoder, read from GGUF metadata (<c>{arch}.*</c> keys).</summary>
public sealed record LlamaConfig(
    string Architecture, int VocabSize, int EmbeddingLength, int BlockCount, int HeadCount, int HeadCountKv,
    int FeedForwardLength, int RopeDimensions, float RopeFreqBase, float RmsEpsilon, int ContextLength)
{
    public int HeadDimension => EmbeddingLength / HeadCount;

    /// <summary>
    /// llama.cpp rotates halves of each head (NeoX) for Qwen2, whose GGUF q/k rows keep Hugging Face's order; for Llama
    /// it rotates adjacent pairs, which is why conversion permutes Llama's q/k rows.
    /// </summary>
    public bool NeoxRope => Architecture == "qwen2";

    /// <summary>Architectures whose GGUF tensors this trainer knows how to map.</summary>
    public static readonly IReadOnlyList<string> Supported = ["llama", "qwen2"];

    /// <exception cref="NotSupportedException">An architecture the trainer cannot build; the message names it.</exception>
    /// <exception cref="InvalidDataException">A required metadata key is missing.</exception>
    public static LlamaConfig FromGguf(GgufFile gguf)
    {
        ArgumentNullException.ThrowIfNull(gguf);
        var arch = gguf.Architecture ?? throw new UserErrorException($"'{gguf.Path}' has no general.architecture");
        if (!Supported.Contains(arch))
            throw new UserErrorException($"'{gguf.Path}' is a '{arch}' model; the trainer supports {string.Join(", ", Supported)}");
        int Int(string key, int? fallback = null)
        {
            var v = gguf[$"{arch}.{key}"]?.Value ?? (object?)fallback ?? throw new UserErrorException($"'{gguf.Path}' lacks {arch}.{key}");
            return Convert.ToInt32(v, System.Globalization.CultureInfo.InvariantCulture);
        }
        float Float(string key, float fallback) =>
            gguf[$"{arch}.{key}"]?.Value is { } v ? Convert.ToSingle(v, System.Globalization.CultureInfo.InvariantCulture) : fallback;
        var embd = Int("embedding_length");
        var heads = Int("attention.head_count");
        var vocab = gguf.Tensor("token_embd.weight").Dimensions[1];
        return new LlamaConfig(arch, checked((int)vocab), embd, Int("block_count"), heads, Int("attention.head_count_kv", heads),
            Int("feed_forward_length"), Int("rope.dimension_count", embd / heads), Float("rope.freq_base", 10000f),
            Float("attention.layer_norm_rms_epsilon", 1e-5f), Int("context_length", 2048));
    }
}

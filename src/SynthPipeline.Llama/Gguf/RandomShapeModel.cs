using SynthPipeline.Core;
namespace SynthPipeline.Llama.Gguf;

/// <summary>The dimensions of a Llama-family model.</summary>
public sealed record ModelShape(string Name, int EmbeddingLength, int BlockCount, int HeadCount, int HeadCountKv, int FeedForwardLength,
    float RopeFreqBase, bool TiedEmbeddings)
{
    public static ModelShape Llama32_1B { get; } = new("llama-3.2-1b", 2048, 16, 32, 8, 8192, 500000f, true);

    public static ModelShape Llama31_8B { get; } = new("llama-3.1-8b", 4096, 32, 32, 8, 14336, 500000f, false);

    public static IReadOnlyList<ModelShape> Known { get; } = [Llama32_1B, Llama31_8B];

    public static ModelShape Parse(string name) => Known.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new UserErrorException($"unknown model shape '{name}'; use one of {string.Join(", ", Known.Select(s => s.Name))}");
}

/// <summary>
/// Writes a random-weight Llama model of a real shape with a real tokenizer copied from a vocabulary GGUF. Decode
/// speed does not depend on weight values, so this stands in for real weights in throughput measurements.
/// </summary>
/// <remarks>
/// Sampling speed does depend on them: top-p stops where the probability mass is reached, so its cost follows how
/// peaked the next-token distribution is. Uniform weights of this scale give logits with a standard deviation of 0.5,
/// a distribution so flat that top-p 0.5 keeps 38,000 of Llama 3's 128,256 tokens, which no trained model does. The
/// output norm is therefore scaled to give logits a standard deviation of <see cref="LogitStandardDeviation"/>: the
/// most likely token then has a median probability of about 0.6 and top-p 0.95 keeps tens of tokens, as with a
/// trained chat model (measured on the 1B shape; <c>bench/results/sampling-bounded.md</c>).
/// </remarks>
public static class RandomShapeModel
{
    /// <summary>The standard deviation of the logits over the vocabulary that the output norm is scaled to.</summary>
    public const float LogitStandardDeviation = 8f;

    private const float WeightScale = 0.02f;

    /// <summary>Llama 3's chat template, which llama.cpp recognises by its header tokens.</summary>
    public const string Llama3Template =
        "{% for message in messages %}{{'<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] + '<|eot_id|>'}}{% endfor %}" +
        "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";

    /// <summary>Writes an F16 model to <paramref name="path"/>; tokenizer.* metadata comes from <paramref name="vocabularyPath"/>.</summary>
    public static void WriteF16(string path, ModelShape shape, string vocabularyPath, int seed = 1)
    {
        ArgumentNullException.ThrowIfNull(shape);
        var vocab = GgufReader.Read(vocabularyPath);
        var tokens = vocab["tokenizer.ggml.tokens"] ?? throw new UserErrorException($"'{vocabularyPath}' has no tokenizer.ggml.tokens");
        var nVocab = (ulong)tokens.AsArray().Items.Count;
        var w = new GgufWriter()
            .Add("general.architecture", GgufValue.Of("llama"))
            .Add("general.name", GgufValue.Of($"random {shape.Name}"))
            .Add("general.file_type", GgufValue.Of(1u))
            .Add("llama.context_length", GgufValue.Of(131072u))
            .Add("llama.embedding_length", GgufValue.Of((uint)shape.EmbeddingLength))
            .Add("llama.block_count", GgufValue.Of((uint)shape.BlockCount))
            .Add("llama.feed_forward_length", GgufValue.Of((uint)shape.FeedForwardLength))
            .Add("llama.attention.head_count", GgufValue.Of((uint)shape.HeadCount))
            .Add("llama.attention.head_count_kv", GgufValue.Of((uint)shape.HeadCountKv))
            .Add("llama.rope.dimension_count", GgufValue.Of((uint)(shape.EmbeddingLength / shape.HeadCount)))
            .Add("llama.rope.freq_base", GgufValue.Of(shape.RopeFreqBase))
            .Add("llama.attention.layer_norm_rms_epsilon", GgufValue.Of(1e-5f))
            .Add("llama.vocab_size", GgufValue.Of((uint)nVocab));
        foreach (var (key, value) in vocab.Metadata.Where(kv => kv.Key.StartsWith("tokenizer.", StringComparison.Ordinal) && kv.Key != "tokenizer.chat_template"))
            w.Add(key, value);
        w.Add("tokenizer.chat_template", GgufValue.Of(Llama3Template));

        ulong e = (ulong)shape.EmbeddingLength, ff = (ulong)shape.FeedForwardLength, kv = (ulong)(shape.EmbeddingLength / shape.HeadCount * shape.HeadCountKv);
        var next = seed;
        void Add(string name, ulong[] dims, float scale) { var s = next++; w.AddLazyTensor(name, dims, dims.Length == 1 ? GgmlType.F32 : GgmlType.F16, () => Fill(dims, s, scale)); }
        Add("token_embd.weight", [e, nVocab], WeightScale);
        // The normed hidden state has unit RMS, so each logit is a sum of e products with weights of standard
        // deviation WeightScale/√3 (uniform noise): its standard deviation is that times √e, times this norm.
        var outputNorm = LogitStandardDeviation / (WeightScale / MathF.Sqrt(3) * MathF.Sqrt(e));
        w.AddLazyTensor("output_norm.weight", [e], GgmlType.F32, () => Enumerable.Repeat(outputNorm, (int)e).ToArray());
        next++;
        if (!shape.TiedEmbeddings) Add("output.weight", [e, nVocab], WeightScale);
        for (var i = 0; i < shape.BlockCount; i++)
        {
            var p = $"blk.{i}.";
            Add(p + "attn_norm.weight", [e], 0);
            Add(p + "attn_q.weight", [e, e], WeightScale);
            Add(p + "attn_k.weight", [e, kv], WeightScale);
            Add(p + "attn_v.weight", [e, kv], WeightScale);
            Add(p + "attn_output.weight", [e, e], WeightScale);
            Add(p + "ffn_norm.weight", [e], 0);
            Add(p + "ffn_gate.weight", [e, ff], WeightScale);
            Add(p + "ffn_up.weight", [e, ff], WeightScale);
            Add(p + "ffn_down.weight", [ff, e], WeightScale);
        }
        w.WriteTo(path);
    }

    // scale 0 marks a norm weight (ones); otherwise uniform noise from a cheap xorshift, seeded per tensor and chunk
    // so that the 8B shape's 8 billion values are drawn on every core.
    private static float[] Fill(ulong[] dims, int seed, float scale)
    {
        var n = checked((int)dims.Aggregate(1UL, (a, d) => a * d));
        var values = new float[n];
        if (scale == 0)
        {
            Array.Fill(values, 1f);
            return values;
        }
        const int chunk = 1 << 20;
        Parallel.For(0, (n + chunk - 1) / chunk, c =>
        {
            var x = ((uint)seed * 2654435761u) ^ ((uint)c * 2246822519u) | 1u;
            var end = Math.Min(n, (c + 1) * chunk);
            for (var i = c * chunk; i < end; i++)
            {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                values[i] = ((x >> 8) * (1f / 16777216f) * 2 - 1) * scale;
            }
        });
        return values;
    }
}

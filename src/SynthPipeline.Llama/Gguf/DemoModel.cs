using System.Text;

namespace SynthPipeline.Llama.Gguf;

/// <summary>
/// Writes SynthPipeline's built-in demo model: a tiny Llama-architecture GGUF with seeded random weights, a small
/// SentencePiece-style vocabulary with byte fallback (so any text tokenizes) and a ChatML chat template.
/// It exists so that tests and a fresh clone can run the whole tool without downloading weights. Its text is noise.
/// </summary>
public static class DemoModel
{
    public const string Name = "synth-demo";
    public const int DefaultSeed = 20261122;
    public const int EmbeddingLength = 64;
    public const int BlockCount = 2;
    public const int HeadCount = 4;
    public const int HeadCountKv = 2;
    public const int FeedForwardLength = 128;
    public const int ContextLength = 4096;

    /// <summary>ChatML, the template the demo model's control tokens are named for.</summary>
    public const string ChatTemplate =
        "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}" +
        "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    // Common English words and JSON/markup pieces; with byte fallback these only make tokenization shorter.
    private static readonly string[] Words =
    [
        "the", "a", "an", "of", "to", "and", "in", "is", "it", "you", "that", "for", "on", "with", "as", "are", "this",
        "be", "or", "by", "not", "what", "how", "why", "which", "write", "give", "list", "explain", "describe", "task",
        "input", "output", "answer", "question", "instruction", "example", "classify", "sentence", "word", "text",
        "yes", "no", "true", "false", "three", "tips", "healthy", "story", "poem", "summary", "price", "current",
        "actually", "sorry", "cannot", "information", "data", "model", "user", "assistant", "system",
    ];

    /// <summary>Writes the demo model to <paramref name="path"/> and returns the path. Same seed, same bytes.</summary>
    public static string Write(string path, int seed = DefaultSeed) => Write(path, seed, "llama");

    /// <summary>
    /// The demo model with another architecture's layout: "qwen2" adds q/k/v biases, ties the output head to the
    /// embeddings and uses NeoX RoPE (in llama.cpp), so tests can cover those paths without downloading a model.
    /// </summary>
    public static string Write(string path, int seed, string architecture)
    {
        if (architecture is not ("llama" or "qwen2")) throw new ArgumentException($"the demo model comes as llama or qwen2, not '{architecture}'", nameof(architecture));
        var qwen = architecture == "qwen2";
        var (tokens, scores, types) = Vocabulary();
        var rng = new Random(seed);
        var w = new GgufWriter()
            .Add("general.architecture", GgufValue.Of(architecture))
            .Add("general.name", GgufValue.Of(Name))
            .Add("general.description", GgufValue.Of("SynthPipeline built-in demo model: random weights, output is noise"))
            .Add("general.file_type", GgufValue.Of(1u))
            .Add(architecture + ".context_length", GgufValue.Of((uint)ContextLength))
            .Add(architecture + ".embedding_length", GgufValue.Of((uint)EmbeddingLength))
            .Add(architecture + ".block_count", GgufValue.Of((uint)BlockCount))
            .Add(architecture + ".feed_forward_length", GgufValue.Of((uint)FeedForwardLength))
            .Add(architecture + ".attention.head_count", GgufValue.Of((uint)HeadCount))
            .Add(architecture + ".attention.head_count_kv", GgufValue.Of((uint)HeadCountKv))
            .Add(architecture + ".rope.dimension_count", GgufValue.Of((uint)(EmbeddingLength / HeadCount)))
            .Add(architecture + ".rope.freq_base", GgufValue.Of(10000f))
            .Add(architecture + ".attention.layer_norm_rms_epsilon", GgufValue.Of(1e-5f))
            .Add(architecture + ".vocab_size", GgufValue.Of((uint)tokens.Count))
            .Add("tokenizer.ggml.model", GgufValue.Of("llama"))
            .Add("tokenizer.ggml.tokens", GgufValue.Strings(tokens))
            .Add("tokenizer.ggml.scores", GgufValue.Floats(scores))
            .Add("tokenizer.ggml.token_type", GgufValue.Ints(types))
            .Add("tokenizer.ggml.bos_token_id", GgufValue.Of(1u))
            .Add("tokenizer.ggml.eos_token_id", GgufValue.Of((uint)ImEndId))
            .Add("tokenizer.ggml.unknown_token_id", GgufValue.Of(0u))
            .Add("tokenizer.ggml.padding_token_id", GgufValue.Of(0u))
            .Add("tokenizer.ggml.add_bos_token", GgufValue.Of(false))
            .Add("tokenizer.ggml.add_eos_token", GgufValue.Of(false))
            .Add("tokenizer.chat_template", GgufValue.Of(ChatTemplate));

        ulong e = EmbeddingLength, v = (ulong)tokens.Count, ff = FeedForwardLength, kv = (ulong)(EmbeddingLength / HeadCount * HeadCountKv);
        // Embeddings and the output head are F16 and one projection is Q8_0 so llama.cpp exercises the writer's codecs.
        w.AddTensor("token_embd.weight", [e, v], Random(rng, e * v, 1.0f), GgmlType.F16);
        w.AddTensor("output_norm.weight", [e], Ones(e));
        if (!qwen) w.AddTensor("output.weight", [e, v], Random(rng, e * v, 0.5f), GgmlType.F16);
        for (var i = 0; i < BlockCount; i++)
        {
            var p = $"blk.{i}.";
            w.AddTensor(p + "attn_norm.weight", [e], Ones(e));
            w.AddTensor(p + "attn_q.weight", [e, e], Random(rng, e * e, 0.2f));
            w.AddTensor(p + "attn_k.weight", [e, kv], Random(rng, e * kv, 0.2f));
            w.AddTensor(p + "attn_v.weight", [e, kv], Random(rng, e * kv, 0.2f));
            if (qwen)
            {
                w.AddTensor(p + "attn_q.bias", [e], Random(rng, e, 0.5f));
                w.AddTensor(p + "attn_k.bias", [kv], Random(rng, kv, 0.5f));
                w.AddTensor(p + "attn_v.bias", [kv], Random(rng, kv, 0.5f));
            }
            w.AddTensor(p + "attn_output.weight", [e, e], Random(rng, e * e, 0.2f), GgmlType.Q8_0);
            w.AddTensor(p + "ffn_norm.weight", [e], Ones(e));
            w.AddTensor(p + "ffn_gate.weight", [e, ff], Random(rng, e * ff, 0.2f));
            w.AddTensor(p + "ffn_up.weight", [e, ff], Random(rng, e * ff, 0.2f));
            w.AddTensor(p + "ffn_down.weight", [ff, e], Random(rng, ff * e, 0.2f));
        }
        w.WriteTo(path);
        return path;
    }

    /// <summary>Token id of &lt;|im_end|&gt;, the demo model's end-of-turn token.</summary>
    public const int ImEndId = 4;

    private const int TypeNormal = 1, TypeUnknown = 2, TypeControl = 3, TypeByte = 6;

    internal static (List<string> Tokens, List<float> Scores, List<int> Types) Vocabulary()
    {
        var tokens = new List<string> { "<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>" };
        var types = new List<int> { TypeUnknown, TypeControl, TypeControl, TypeControl, TypeControl };
        var scores = new List<float> { 0, 0, 0, 0, 0 };
        for (var b = 0; b < 256; b++)
        {
            tokens.Add($"<0x{b:X2}>");
            types.Add(TypeByte);
            scores.Add(0);
        }
        var pieces = new List<string> { "\u2581" };
        for (var c = 33; c < 127; c++) pieces.Add(((char)c).ToString());
        foreach (var word in Words)
        {
            pieces.Add("\u2581" + word);
            pieces.Add("\u2581" + char.ToUpperInvariant(word[0]) + word[1..]);
        }
        foreach (var piece in new[] { "\u2581{", "\u2581}", "\":", "\",", "\u2581\"", "\n", "user", "assistant", "system" }) pieces.Add(piece);
        foreach (var piece in pieces.Distinct())
        {
            tokens.Add(piece);
            types.Add(TypeNormal);
            // SentencePiece merges by score: longer pieces score higher so words win over characters.
            scores.Add(-1000f + 10f * Encoding.UTF8.GetByteCount(piece));
        }
        return (tokens, scores, types);
    }

    private static float[] Ones(ulong n) => Enumerable.Repeat(1f, (int)n).ToArray();

    private static float[] Random(Random rng, ulong n, float scale)
    {
        var values = new float[n];
        for (var i = 0; i < values.Length; i++) values[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        return values;
    }
}

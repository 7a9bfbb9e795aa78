using System.Text.Json;
using SynthPipeline.Core;

namespace SynthPipeline.Training;

/// <summary>
/// Reads a Hugging Face Llama or Qwen2 checkpoint (config.json + model.safetensors, or sharded model-*.safetensors) into
/// GGUF tensor names and layout: q/k rows (and biases) get the RoPE permutation llama.cpp's converter applies, and
/// Llama 3 rope scaling becomes the rope_freqs factors the converter computes.
/// </summary>
public static class HuggingFaceCheckpoint
{
    public static (LlamaConfig Config, IReadOnlyList<NamedTensor> Tensors) Read(string folder)
    {
        var configPath = Path.Combine(folder, "config.json");
        if (!File.Exists(configPath)) throw new UserErrorException($"'{folder}' has no config.json: not a Hugging Face checkpoint");
        using var doc = JsonDocument.Parse(File.ReadAllText(configPath));
        var c = doc.RootElement;
        var modelType = c.TryGetProperty("model_type", out var mt) ? mt.GetString() : null;
        if (modelType is not ("llama" or "qwen2"))
            throw new UserErrorException($"'{configPath}' describes a '{modelType ?? "(no model_type)"}' model; the trainer supports llama and qwen2");
        int Int(string key) => c.TryGetProperty(key, out var v) ? v.GetInt32() : throw new UserErrorException($"'{configPath}' lacks \"{key}\"");
        var hidden = Int("hidden_size");
        var heads = Int("num_attention_heads");
        var kvHeads = c.TryGetProperty("num_key_value_heads", out var kv) ? kv.GetInt32() : heads;
        var theta = c.TryGetProperty("rope_theta", out var rt) ? rt.GetSingle() : 10000f;
        var config = new LlamaConfig(modelType, Int("vocab_size"), hidden, Int("num_hidden_layers"), heads, kvHeads, Int("intermediate_size"),
            hidden / heads, theta, c.TryGetProperty("rms_norm_eps", out var eps) ? eps.GetSingle() : 1e-5f,
            c.TryGetProperty("max_position_embeddings", out var ctx) ? ctx.GetInt32() : 2048);

        var files = Directory.GetFiles(folder, "*.safetensors").Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0) throw new UserErrorException($"'{folder}' has no .safetensors weights");
        var tensors = new List<NamedTensor>();
        foreach (var file in files)
            foreach (var t in Safetensors.Read(file).Tensors)
            {
                var name = GgufName(t.Name, file);
                if (name is null) continue;
                var values = t.Values;
                // Llama's converter permutes q/k rows for llama.cpp's adjacent-pair RoPE; Qwen2 (NeoX RoPE) keeps them.
                var permute = !config.NeoxRope;
                if (permute && (name.EndsWith("attn_q.weight", StringComparison.Ordinal) || name.EndsWith("attn_q.bias", StringComparison.Ordinal)))
                    values = AdapterExporter.PermuteRows(values, (int)t.Shape[0], t.Shape.Length > 1 ? (int)t.Shape[1] : 1, heads);
                else if (permute && (name.EndsWith("attn_k.weight", StringComparison.Ordinal) || name.EndsWith("attn_k.bias", StringComparison.Ordinal)))
                    values = AdapterExporter.PermuteRows(values, (int)t.Shape[0], t.Shape.Length > 1 ? (int)t.Shape[1] : 1, kvHeads);
                tensors.Add(t with { Name = name, Values = values });
            }
        if (c.TryGetProperty("rope_scaling", out var scaling) && scaling.ValueKind == JsonValueKind.Object
            && scaling.TryGetProperty("rope_type", out var kind) && kind.GetString() == "llama3")
            tensors.Add(new NamedTensor("rope_freqs.weight", [hidden / heads / 2], Llama3RopeFactors(config, scaling)));
        return (config, tensors);
    }

    /// <summary>
    /// Writes <paramref name="model"/> as a Hugging Face checkpoint (float32 model.safetensors + config.json), the
    /// inverse of <see cref="Read"/>: q/k rows go back to HF order for Llama. Used to give PyTorch the same base weights.
    /// </summary>
    public static void Write(LlamaTransformer model, string folder)
    {
        ArgumentNullException.ThrowIfNull(model);
        Directory.CreateDirectory(folder);
        var c = model.Config;
        var tensors = new List<NamedTensor>();
        void Take(string gguf, string hf, int? heads = null)
        {
            if (!model.Weights.TryGetValue(gguf, out var w)) return;
            var values = w.detach().cpu().to(TorchSharp.torch.ScalarType.Float32).contiguous().data<float>().ToArray();
            if (heads is { } h && !c.NeoxRope) values = AdapterExporter.UnpermuteRows(values, (int)w.shape[0], w.shape.Length > 1 ? (int)w.shape[1] : 1, h);
            tensors.Add(new NamedTensor(hf, w.shape, values));
        }
        Take("token_embd.weight", "model.embed_tokens.weight");
        Take("output_norm.weight", "model.norm.weight");
        Take("output.weight", "lm_head.weight");
        for (var l = 0; l < c.BlockCount; l++)
        {
            var p = $"model.layers.{l}.";
            var g = $"blk.{l}.";
            Take(g + "attn_norm.weight", p + "input_layernorm.weight");
            Take(g + "ffn_norm.weight", p + "post_attention_layernorm.weight");
            Take(g + "attn_q.weight", p + "self_attn.q_proj.weight", c.HeadCount);
            Take(g + "attn_k.weight", p + "self_attn.k_proj.weight", c.HeadCountKv);
            Take(g + "attn_v.weight", p + "self_attn.v_proj.weight");
            Take(g + "attn_output.weight", p + "self_attn.o_proj.weight");
            Take(g + "attn_q.bias", p + "self_attn.q_proj.bias", c.HeadCount);
            Take(g + "attn_k.bias", p + "self_attn.k_proj.bias", c.HeadCountKv);
            Take(g + "attn_v.bias", p + "self_attn.v_proj.bias");
            Take(g + "ffn_gate.weight", p + "mlp.gate_proj.weight");
            Take(g + "ffn_up.weight", p + "mlp.up_proj.weight");
            Take(g + "ffn_down.weight", p + "mlp.down_proj.weight");
        }
        Safetensors.Write(Path.Combine(folder, "model.safetensors"), tensors, new Dictionary<string, string> { ["format"] = "pt" });
        var config = new Dictionary<string, object>
        {
            ["model_type"] = c.Architecture, ["architectures"] = new[] { c.Architecture == "qwen2" ? "Qwen2ForCausalLM" : "LlamaForCausalLM" },
            ["hidden_size"] = c.EmbeddingLength, ["num_attention_heads"] = c.HeadCount, ["num_key_value_heads"] = c.HeadCountKv,
            ["num_hidden_layers"] = c.BlockCount, ["intermediate_size"] = c.FeedForwardLength, ["vocab_size"] = c.VocabSize,
            ["rms_norm_eps"] = c.RmsEpsilon, ["rope_theta"] = c.RopeFreqBase, ["max_position_embeddings"] = c.ContextLength,
            ["tie_word_embeddings"] = !model.Weights.ContainsKey("output.weight"), ["hidden_act"] = "silu", ["torch_dtype"] = "float32",
        };
        if (model.Weights.TryGetValue("rope_freqs.weight", out var freqs))
        {
            // HF describes Llama 3 scaling by its parameters; accept the GGUF's factors only if Llama 3.1/3.2's reproduce them.
            var stored = freqs.cpu().data<float>().ToArray();
            var candidates = new[] { 8.0, 32.0 }.Select(f => (Factor: f, Json: $$"""{"rope_type":"llama3","factor":{{f}},"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":8192}"""));
            var match = candidates.FirstOrDefault(k =>
            {
                using var doc = JsonDocument.Parse(k.Json);
                return Llama3RopeFactors(c, doc.RootElement).Zip(stored).All(p => Math.Abs(p.First - p.Second) <= 1e-5f * Math.Abs(p.Second));
            });
            if (match.Json is null) throw new UserErrorException("the model's rope_freqs are not Llama 3.1/3.2 rope scaling; it cannot be written for Hugging Face");
            config["rope_scaling"] = JsonSerializer.Deserialize<Dictionary<string, object>>(match.Json)!;
        }
        File.WriteAllText(Path.Combine(folder, "config.json"), JsonSerializer.Serialize(config, new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>The rope_freqs factors llama.cpp's converter writes for Llama 3 rope scaling.</summary>
    public static float[] Llama3RopeFactors(LlamaConfig config, JsonElement scaling)
    {
        ArgumentNullException.ThrowIfNull(config);
        var factor = scaling.GetProperty("factor").GetDouble();
        var low = scaling.TryGetProperty("low_freq_factor", out var l) ? l.GetDouble() : 1.0;
        var high = scaling.TryGetProperty("high_freq_factor", out var h) ? h.GetDouble() : 4.0;
        var oldContext = scaling.TryGetProperty("original_max_position_embeddings", out var o) ? o.GetDouble() : 8192;
        var dim = config.HeadDimension;
        var lowWavelength = oldContext / low;
        var highWavelength = oldContext / high;
        var factors = new float[dim / 2];
        for (var i = 0; i < dim / 2; i++)
        {
            var freq = 1.0 / Math.Pow(config.RopeFreqBase, 2.0 * i / dim);
            var wavelength = 2 * Math.PI / freq;
            factors[i] = (float)(wavelength < highWavelength ? 1
                : wavelength > lowWavelength ? factor
                : 1 / ((1 - (oldContext / wavelength - low) / (high - low)) / factor + (oldContext / wavelength - low) / (high - low)));
        }
        return factors;
    }

    private static string? GgufName(string hf, string file)
    {
        if (hf == "model.embed_tokens.weight") return "token_embd.weight";
        if (hf == "model.norm.weight") return "output_norm.weight";
        if (hf == "lm_head.weight") return "output.weight";
        if (!hf.StartsWith("model.layers.", StringComparison.Ordinal)) return null;
        var rest = hf["model.layers.".Length..];
        var dot = rest.IndexOf('.', StringComparison.Ordinal);
        var layer = rest[..dot];
        var module = rest[(dot + 1)..];
        string? mapped = module switch
        {
            "input_layernorm.weight" => "attn_norm.weight",
            "post_attention_layernorm.weight" => "ffn_norm.weight",
            "self_attn.q_proj.weight" => "attn_q.weight",
            "self_attn.k_proj.weight" => "attn_k.weight",
            "self_attn.v_proj.weight" => "attn_v.weight",
            "self_attn.o_proj.weight" => "attn_output.weight",
            "self_attn.q_proj.bias" => "attn_q.bias",
            "self_attn.k_proj.bias" => "attn_k.bias",
            "self_attn.v_proj.bias" => "attn_v.bias",
            "mlp.gate_proj.weight" => "ffn_gate.weight",
            "mlp.up_proj.weight" => "ffn_up.weight",
            "mlp.down_proj.weight" => "ffn_down.weight",
            "self_attn.rotary_emb.inv_freq" => null,
            _ => throw new UserErrorException($"'{file}': unknown tensor {hf}"),
        };
        return mapped is null ? null : $"blk.{layer}.{mapped}";
    }
}

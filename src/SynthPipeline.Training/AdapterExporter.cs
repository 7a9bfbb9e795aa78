using System.Text.Json;
using SynthPipeline.Llama.Gguf;
using static TorchSharp.torch;

namespace SynthPipeline.Training;

/// <summary>
/// Writes a trained adapter for llama.cpp (GGUF LoRA) and for PEFT (safetensors + adapter_config.json). Training runs in
/// GGUF's layout, so the GGUF export is direct; PEFT expects Hugging Face's layout, whose q/k output rows are in the
/// order before GGUF conversion's RoPE permutation, so those lora_B rows are permuted back.
/// </summary>
public static class AdapterExporter
{
    private static readonly Dictionary<string, string> HfModule = new(StringComparer.Ordinal)
    {
        ["attn_q"] = "self_attn.q_proj", ["attn_k"] = "self_attn.k_proj", ["attn_v"] = "self_attn.v_proj", ["attn_output"] = "self_attn.o_proj",
        ["ffn_gate"] = "mlp.gate_proj", ["ffn_up"] = "mlp.up_proj", ["ffn_down"] = "mlp.down_proj",
    };

    /// <summary>llama.cpp's LoRA GGUF: general.type=adapter, adapter.type=lora, adapter.lora.alpha; scale = alpha / rank.</summary>
    public static void WriteGguf(string path, LlamaConfig config, LoraWeights lora)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(lora);
        var writer = new GgufWriter()
            .Add("general.architecture", GgufValue.Of(config.Architecture))
            .Add("general.type", GgufValue.Of("adapter"))
            .Add("general.name", GgufValue.Of("synth-lora"))
            .Add("adapter.type", GgufValue.Of("lora"))
            .Add("adapter.lora.alpha", GgufValue.Of(lora.Options.Alpha));
        foreach (var (name, (a, b)) in lora.Pairs)
        {
            // torch [rank, in] is GGUF ne = [in, rank]; torch [out, rank] is ne = [rank, out].
            writer.AddTensor($"{name}.weight.lora_a", [(ulong)a.shape[1], (ulong)a.shape[0]], Values(a));
            writer.AddTensor($"{name}.weight.lora_b", [(ulong)b.shape[1], (ulong)b.shape[0]], Values(b));
        }
        writer.WriteTo(path);
    }

    /// <summary>PEFT's adapter_model.safetensors and adapter_config.json in <paramref name="folder"/>.</summary>
    public static void WritePeft(string folder, LlamaConfig config, LoraWeights lora, string baseModel)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(lora);
        Directory.CreateDirectory(folder);
        var tensors = new List<NamedTensor>();
        foreach (var (name, (a, b)) in lora.Pairs)
        {
            var (layer, module) = Split(name);
            var prefix = $"base_model.model.model.layers.{layer}.{HfModule[module]}";
            var bValues = Values(b);
            if (module is "attn_q" or "attn_k" && !config.NeoxRope)
                bValues = UnpermuteRows(bValues, (int)b.shape[0], (int)b.shape[1], module == "attn_q" ? config.HeadCount : config.HeadCountKv);
            tensors.Add(new NamedTensor($"{prefix}.lora_A.weight", a.shape, Values(a)));
            tensors.Add(new NamedTensor($"{prefix}.lora_B.weight", b.shape, bValues));
        }
        Safetensors.Write(Path.Combine(folder, "adapter_model.safetensors"), tensors, new Dictionary<string, string> { ["format"] = "pt" });
        var adapterConfig = new
        {
            peft_type = "LORA", task_type = "CAUSAL_LM", base_model_name_or_path = baseModel, r = lora.Options.Rank, lora_alpha = lora.Options.Alpha,
            lora_dropout = lora.Options.Dropout, bias = "none", fan_in_fan_out = false, inference_mode = true,
            target_modules = lora.Options.Targets.Select(t => HfModule[t].Split('.')[1]).ToArray(),
        };
        File.WriteAllText(Path.Combine(folder, "adapter_config.json"), JsonSerializer.Serialize(adapterConfig, new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>GGUF → Hugging Face order of q/k output rows: within each head, interleaved pairs become two halves.</summary>
    public static float[] UnpermuteRows(float[] values, int rows, int columns, int heads) => MoveRows(values, rows, columns, heads, toGguf: false);

    /// <summary>Hugging Face → GGUF order, the permutation llama.cpp's converter applies to q/k weights.</summary>
    public static float[] PermuteRows(float[] values, int rows, int columns, int heads) => MoveRows(values, rows, columns, heads, toGguf: true);

    /// <summary>Row j·2+s of a head in GGUF order is row s·(d/2)+j in Hugging Face order.</summary>
    private static float[] MoveRows(float[] values, int rows, int columns, int heads, bool toGguf)
    {
        ArgumentNullException.ThrowIfNull(values);
        var headDim = rows / heads;
        var result = new float[values.Length];
        for (var h = 0; h < heads; h++)
            for (var j = 0; j < headDim / 2; j++)
                for (var s = 0; s < 2; s++)
                {
                    var gguf = h * headDim + j * 2 + s;
                    var hf = h * headDim + s * (headDim / 2) + j;
                    var (from, to) = toGguf ? (hf, gguf) : (gguf, hf);
                    Array.Copy(values, from * columns, result, to * columns, columns);
                }
        return result;
    }

    private static (int Layer, string Module) Split(string name)
    {
        var parts = name.Split('.');
        return (int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture), parts[2]);
    }

    private static float[] Values(Tensor t) => t.detach().cpu().to(ScalarType.Float32).contiguous().data<float>().ToArray();
}

using SynthPipeline.Llama.Gguf;
using static TorchSharp.torch;

namespace SynthPipeline.Training.Tests;

public sealed class HuggingFaceAndPrecisionTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "synth-training-tests", Guid.NewGuid().ToString("N"));
    private readonly GgufFile _gguf;

    public HuggingFaceAndPrecisionTests()
    {
        Directory.CreateDirectory(_dir);
        _gguf = GgufReader.Read(DemoModel.Write(Path.Combine(_dir, "demo.gguf")));
    }

    /// <summary>Writes the demo model as a Hugging Face checkpoint: HF names, and q/k rows back in HF's order.</summary>
    private string WriteHuggingFace(LlamaTransformer model)
    {
        var folder = Path.Combine(_dir, "hf");
        Directory.CreateDirectory(folder);
        var c = model.Config;
        var tensors = new List<NamedTensor>();
        NamedTensor Take(string gguf, string hf, int? heads = null)
        {
            var w = model.Weights[gguf];
            var values = w.data<float>().ToArray();
            if (heads is { } h) values = AdapterExporter.UnpermuteRows(values, (int)w.shape[0], (int)w.shape[1], h);
            return new NamedTensor(hf, w.shape, values);
        }
        tensors.Add(Take("token_embd.weight", "model.embed_tokens.weight"));
        tensors.Add(Take("output_norm.weight", "model.norm.weight"));
        tensors.Add(Take("output.weight", "lm_head.weight"));
        for (var l = 0; l < c.BlockCount; l++)
        {
            var p = $"model.layers.{l}.";
            tensors.Add(Take($"blk.{l}.attn_norm.weight", p + "input_layernorm.weight"));
            tensors.Add(Take($"blk.{l}.ffn_norm.weight", p + "post_attention_layernorm.weight"));
            tensors.Add(Take($"blk.{l}.attn_q.weight", p + "self_attn.q_proj.weight", c.HeadCount));
            tensors.Add(Take($"blk.{l}.attn_k.weight", p + "self_attn.k_proj.weight", c.HeadCountKv));
            tensors.Add(Take($"blk.{l}.attn_v.weight", p + "self_attn.v_proj.weight"));
            tensors.Add(Take($"blk.{l}.attn_output.weight", p + "self_attn.o_proj.weight"));
            tensors.Add(Take($"blk.{l}.ffn_gate.weight", p + "mlp.gate_proj.weight"));
            tensors.Add(Take($"blk.{l}.ffn_up.weight", p + "mlp.up_proj.weight"));
            tensors.Add(Take($"blk.{l}.ffn_down.weight", p + "mlp.down_proj.weight"));
        }
        Safetensors.Write(Path.Combine(folder, "model.safetensors"), tensors);
        File.WriteAllText(Path.Combine(folder, "config.json"), $$"""
            {"model_type":"llama","hidden_size":{{c.EmbeddingLength}},"num_attention_heads":{{c.HeadCount}},"num_key_value_heads":{{c.HeadCountKv}},
             "num_hidden_layers":{{c.BlockCount}},"intermediate_size":{{c.FeedForwardLength}},"vocab_size":{{c.VocabSize}},"rms_norm_eps":{{c.RmsEpsilon}},
             "rope_theta":{{c.RopeFreqBase}},"max_position_embeddings":{{c.ContextLength}}}
            """);
        return folder;
    }

    private static float[] Logits(LlamaTransformer model, long[] tokens)
    {
        using var noGrad = no_grad();
        using var logits = model.Forward(tensor(tokens, [1, tokens.Length]));
        return logits.data<float>().ToArray();
    }

    [Fact]
    public void LoadHuggingFace_DemoModelWrittenInHfLayout_SameWeightsAndLogitsAsFromGguf()
    {
        using var fromGguf = LlamaTransformer.Load(_gguf);
        using var fromHf = LlamaTransformer.LoadHuggingFace(WriteHuggingFace(fromGguf));
        Assert.Equal(fromGguf.Config with { Architecture = "llama" }, fromHf.Config);
        foreach (var (name, w) in fromGguf.Weights)
            Assert.Equal(w.data<float>().ToArray(), fromHf.Weights[name].data<float>().ToArray());
        long[] tokens = [1, 40, 77, 123, 200, 5, 9];
        Assert.Equal(Logits(fromGguf, tokens), Logits(fromHf, tokens));
    }

    [Fact]
    public void LoadHuggingFace_UnknownModelType_NamesIt()
    {
        var folder = Path.Combine(_dir, "falcon");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "config.json"), """{"model_type":"falcon"}""");
        var e = Assert.Throws<NotSupportedException>(() => LlamaTransformer.LoadHuggingFace(folder));
        Assert.Contains("'falcon'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Forward_Bf16ComputeType_CloseToFloat32()
    {
        // The GPU path computes in bf16; here the same code runs on the CPU to check it, not to time it.
        using var f32 = LlamaTransformer.Load(_gguf);
        using var bf16 = LlamaTransformer.Load(_gguf, dtype: ScalarType.BFloat16);
        Assert.Equal(ScalarType.BFloat16, bf16.DType);
        long[] tokens = [1, 40, 77, 123, 200, 5, 9, 300, 12];
        var a = Logits(f32, tokens);
        var b = Logits(bf16, tokens);
        var rms = Math.Sqrt(a.Average(x => (double)x * x));
        var maxDiff = a.Zip(b).Max(p => Math.Abs(p.First - p.Second));
        // bf16 keeps 8 significant bits (relative 2^-8 per rounding); through two blocks that is a few percent of the RMS.
        Assert.True(maxDiff < 0.1 * rms, $"max |Δ| {maxDiff:G4} against RMS {rms:G4}");
    }

    public void Dispose() { }
}

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

    private string WriteHuggingFace(LlamaTransformer model)
    {
        var folder = Path.Combine(_dir, "hf-" + model.Config.Architecture);
        HuggingFaceCheckpoint.Write(model, folder);
        return folder;
    }

    private static float[] Logits(LlamaTransformer model, long[] tokens)
    {
        using var noGrad = no_grad();
        using var logits = model.Forward(tensor(tokens, [1, tokens.Length]));
        return logits.data<float>().ToArray();
    }

    [Theory]
    [InlineData("llama")]
    [InlineData("qwen2")]
    public void WriteThenLoadHuggingFace_DemoModel_SameWeightsAndLogitsAsFromGguf(string architecture)
    {
        using var fromGguf = LlamaTransformer.Load(architecture == "llama" ? _gguf
            : GgufReader.Read(DemoModel.Write(Path.Combine(_dir, "qwen2.gguf"), DemoModel.DefaultSeed, "qwen2")));
        using var fromHf = LlamaTransformer.LoadHuggingFace(WriteHuggingFace(fromGguf));
        Assert.Equal(fromGguf.Config, fromHf.Config);
        Assert.Equal(fromGguf.Weights.Keys.Order(), fromHf.Weights.Keys.Order());
        foreach (var (name, w) in fromGguf.Weights)
            Assert.Equal(w.data<float>().ToArray(), fromHf.Weights[name].data<float>().ToArray());
        long[] tokens = [1, 40, 77, 123, 200, 5, 9];
        Assert.Equal(Logits(fromGguf, tokens), Logits(fromHf, tokens));
    }

    [Fact]
    public void LoadHuggingFace_Llama3RopeScaling_BecomesRopeFactorsAndWritesBackTheSameScaling()
    {
        using var plain = LlamaTransformer.Load(_gguf);
        var folder = WriteHuggingFace(plain);
        var configPath = Path.Combine(folder, "config.json");
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
        config["rope_scaling"] = System.Text.Json.Nodes.JsonNode.Parse(
            """{"rope_type":"llama3","factor":32.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":8192}""");
        File.WriteAllText(configPath, config.ToJsonString());

        using var scaled = LlamaTransformer.LoadHuggingFace(folder);
        var factors = scaled.Weights["rope_freqs.weight"].data<float>().ToArray();
        // Head dimension 16, base 10000: the fastest rotation (wavelength 2π) is kept, the slowest (about 19,900 positions,
        // beyond the 8,192 of the original context) is slowed by the full factor, and the factors never decrease.
        Assert.Equal(8, factors.Length);
        Assert.Equal(1f, factors[0]);
        Assert.Equal(32f, factors[^1]);
        Assert.True(factors.Zip(factors.Skip(1)).All(p => p.First <= p.Second));
        long[] tokens = [1, 40, 77, 123, 200];
        Assert.NotEqual(Logits(plain, tokens), Logits(scaled, tokens));

        var again = Path.Combine(_dir, "hf-again");
        HuggingFaceCheckpoint.Write(scaled, again);
        var written = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(again, "config.json")))!["rope_scaling"]!;
        Assert.Equal(32.0, written["factor"]!.GetValue<double>());
    }

    [Fact]
    public void LoadHuggingFace_UnknownModelType_NamesIt()
    {
        var folder = Path.Combine(_dir, "falcon");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "config.json"), """{"model_type":"falcon"}""");
        var e = Assert.Throws<SynthPipeline.Core.UserErrorException>(() => LlamaTransformer.LoadHuggingFace(folder));
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

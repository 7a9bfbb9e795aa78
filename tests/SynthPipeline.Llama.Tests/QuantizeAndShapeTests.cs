using SynthPipeline.Llama.Gguf;

namespace SynthPipeline.Llama.Tests;

[Collection(DemoModelCollection.Name)]
public sealed class QuantizeAndShapeTests(DemoModelFixture fixture)
{
    [Fact]
    public void Quantize_DemoModelToQ8_0_LoadsAndEveryMatrixIsQ8_0()
    {
        var output = Path.Combine(TestPaths.TempDirectory("quant"), "demo-q8_0.gguf");
        ModelQuantizer.Quantize(fixture.ModelPath, output, "q8_0", threads: 2);
        var gguf = GgufReader.Read(output);
        Assert.All(gguf.Tensors.Where(t => t.Dimensions.Count == 2), t => Assert.Equal(GgmlType.Q8_0, t.Type));
        Assert.Equal(fixture.Model.Gguf.ParameterCount, gguf.ParameterCount);
        using var model = LlamaModel.Load(output, new LlamaModelLoadOptions { GpuLayers = 0 });
        Assert.Equal(fixture.Model.Vocab.TokenCount, model.Vocab.TokenCount);
    }

    [Fact]
    public void Quantize_UnknownType_NamesTheAcceptedTypes()
    {
        var e = Assert.Throws<SynthPipeline.Core.UserErrorException>(() => ModelQuantizer.Quantize(fixture.ModelPath, "/tmp/x.gguf", "q3_weird"));
        Assert.Contains("q4_k_m", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddLazyTensor_ProducesDataOnlyWhenWritten()
    {
        var produced = 0;
        var writer = new GgufWriter().AddLazyTensor("w", [32, 2], GgmlType.F16, () =>
        {
            produced++;
            return Enumerable.Range(0, 64).Select(i => (float)i).ToArray();
        });
        Assert.Equal(0, produced);
        var path = Path.Combine(TestPaths.TempDirectory("lazy"), "m.gguf");
        writer.WriteTo(path);
        Assert.Equal(1, produced);
        Assert.Equal(Enumerable.Range(0, 64).Select(i => (float)i), GgufReader.Read(path).ReadTensorFloats(GgufReader.Read(path).Tensor("w")));
    }

    [Fact]
    public void WriteF16_RandomShape_GivesLogitsTheStandardDeviationOfATrainedModel()
    {
        // A small shape with Llama 3's real vocabulary: the logits' spread over 128K tokens is what sampling meets.
        var shape = new ModelShape("tiny", 64, 1, 4, 2, 128, 500000f, true);
        var path = Path.Combine(TestPaths.TempDirectory("random-shape"), "tiny.gguf");
        RandomShapeModel.WriteF16(path, shape, Path.Combine(TestPaths.LlamaSource, "models", "ggml-vocab-llama-bpe.gguf"));
        using var model = LlamaModel.Load(path, new LlamaModelLoadOptions { GpuLayers = 0 });
        using var context = LlamaContext.Create(model, new LlamaContextOptions { ContextSize = 64, Threads = 2 });
        var prompt = model.Vocab.Tokenize("The weather today is");
        using var batch = new LlamaBatch(64);
        for (var i = 0; i < prompt.Length; i++) batch.Add(prompt[i], i, 0, i == prompt.Length - 1);
        Assert.Equal(DecodeStatus.Ok, context.Decode(batch));
        var logits = context.Logits(prompt.Length - 1).ToArray();
        Assert.Equal(128_256, logits.Length);
        var mean = logits.Average();
        var deviation = Math.Sqrt(logits.Average(l => (l - mean) * (l - mean)));
        // Uniform weights alone gave 0.5 for the 1B shape (top-p 0.5 then kept 38,000 tokens).
        Assert.InRange(deviation, RandomShapeModel.LogitStandardDeviation * 0.8, RandomShapeModel.LogitStandardDeviation * 1.2);
    }

    [Fact]
    public void ModelShape_Llama32_1B_HasTheRealParameterCount()
    {
        // Llama-3.2-1B: 1,235,814,400 parameters with its 128,256-token vocabulary and tied embeddings.
        var s = ModelShape.Llama32_1B;
        long e = s.EmbeddingLength, kv = e / s.HeadCount * s.HeadCountKv, ff = s.FeedForwardLength, v = 128256;
        var perLayer = e * e * 2 + e * kv * 2 + e * ff * 3 + e * 2;
        Assert.Equal(1_235_814_400L, v * e + e + s.BlockCount * perLayer);
    }
}

using System.Globalization;
using SynthPipeline.Llama.Gguf;

namespace SynthPipeline.Llama.Tests;

[Collection(DemoModelCollection.Name)]
public sealed class TokenizerTests(DemoModelFixture fixture)
{
    [Theory]
    [InlineData("Give three tips for staying healthy.")]
    [InlineData("  leading spaces, tabs\tand\nnewlines ")]
    [InlineData("Ünïcödé, emoji 🦙 and 中文 fall back to bytes")]
    [InlineData("{\"instruction\": \"classify\", \"output\": 42}")]
    public void Tokenize_ThenDetokenize_ReturnsTheSameText(string text)
    {
        var vocab = fixture.Model.Vocab;
        var tokens = vocab.Tokenize(text);
        Assert.NotEmpty(tokens);
        // SentencePiece adds a leading space marker that detokenization strips again.
        Assert.Equal(text, vocab.Detokenize(tokens));
    }

    [Fact]
    public void Tokenize_ChatMlControlText_ParsesToControlTokensOnlyWhenAsked()
    {
        var vocab = fixture.Model.Vocab;
        var special = vocab.Tokenize("<|im_start|>user", parseSpecial: true);
        Assert.Equal(3, special[0]);
        Assert.True(vocab.IsControl(special[0]));
        Assert.DoesNotContain(3, vocab.Tokenize("<|im_start|>user", parseSpecial: false));
        Assert.True(vocab.IsEndOfGeneration(DemoModel.ImEndId));
    }

    public static TheoryData<string> RealVocabularies => new() { "ggml-vocab-llama-bpe.gguf", "ggml-vocab-qwen2.gguf" };

    [Theory]
    [MemberData(nameof(RealVocabularies))]
    public void Tokenize_RealVocabulary_MatchesLlamaCppTestVectors(string vocabFile)
    {
        var path = Path.Combine(TestPaths.LlamaSource, "models", vocabFile);
        Assert.True(File.Exists(path), $"{path} missing: `dotnet build` fetches it with build/fetch-native.sh src");
        using var model = LlamaModel.Load(path, new LlamaModelLoadOptions { VocabOnly = true, GpuLayers = 0 });
        var inputs = File.ReadAllText(path + ".inp").Split("\n__ggml_vocab_test__\n");
        var outputs = File.ReadAllLines(path + ".out");
        // The file ends with a separator, which leaves one empty trailing piece.
        Assert.Equal(outputs.Length, inputs.Length - 1);
        for (var i = 0; i < outputs.Length; i++)
        {
            var expected = outputs[i].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
            Assert.Equal(expected, model.Vocab.Tokenize(inputs[i], addSpecial: false, parseSpecial: false));
        }
    }
}

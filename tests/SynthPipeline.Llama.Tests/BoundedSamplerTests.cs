namespace SynthPipeline.Llama.Tests;

/// <summary>
/// The bounded sampler against llama.cpp's chain over the whole vocabulary, on 128K-token logits made here: draws must
/// be the same token for token, with penalties accumulating over a history longer than their window.
/// </summary>
[Collection(DemoModelCollection.Name)]
public sealed class BoundedSamplerTests(DemoModelFixture fixture)
{
    private const int Vocabulary = 128_256;

    /// <summary>
    /// A trained model's shape: a few dozen plausible tokens and a vocabulary far below them. The bulk sits 45-60 nats
    /// down, so llama.cpp's float softmax sum is exact to rounding and top-p's cut cannot differ by summation order.
    /// </summary>
    private static float[] Peaked(Random random)
    {
        var logits = new float[Vocabulary];
        for (var i = 0; i < logits.Length; i++) logits[i] = -45 - 15 * random.NextSingle();
        for (var i = 0; i < 40; i++) logits[random.Next(Vocabulary)] = (float)(random.NextDouble() * 8 - 4);
        return logits;
    }

    /// <summary>Random weights' shape: nearly uniform, so top-p keeps tens of thousands of tokens.</summary>
    private static float[] Flat(Random random)
    {
        var logits = new float[Vocabulary];
        for (var i = 0; i < logits.Length; i++) logits[i] = random.NextSingle();
        return logits;
    }

    public static TheoryData<string, SamplingSettings> Chains => new()
    {
        { "Self-Instruct's lists: top-p 0.5 without top-k, presence 2", new() { TopK = 0, TopP = 0.5f, MinP = 0, Temperature = 0.7f, PresencePenalty = 2 } },
        { "top-p 0.9 without top-k, frequency and a negative presence", new() { TopK = 0, TopP = 0.9f, MinP = 0, Temperature = 1, FrequencyPenalty = 0.5f, PresencePenalty = -0.5f, PenaltyLastN = 16 } },
        { "llama.cpp's defaults with a repeat penalty", new() { TopK = 40, TopP = 0.95f, MinP = 0.05f, Temperature = 0.8f, RepeatPenalty = 1.3f } },
        { "greedy with a presence penalty", new() { Temperature = 0, PresencePenalty = 1.5f, PenaltyLastN = 8 } },
        { "top-p 0.95 and min-p without penalties", new() { TopK = 0, TopP = 0.95f, MinP = 0.02f, Temperature = 1.2f } },
    };

    [Theory]
    [MemberData(nameof(Chains))]
    public void Sample_PeakedLogits_DrawsWhatTheChainDrawsOverTheWholeVocabulary(string chain, SamplingSettings settings)
    {
        var random = new Random(chain.Length);
        var rows = Enumerable.Range(0, 6).Select(_ => Peaked(random)).ToArray();
        using var bounded = LlamaSampler.Create(fixture.Model, settings with { Seed = 11 }, topCandidates: true);
        using var whole = LlamaSampler.Create(fixture.Model, settings with { Seed = 11 }, topCandidates: false);
        Assert.True(bounded.TopCandidateCount > 0, chain);
        Assert.Equal(0, whole.TopCandidateCount);
        var drawn = new List<int>();
        // Few rows reused: the same tokens keep coming back, so the penalties move the candidates every draw.
        for (var i = 0; i < 300; i++)
        {
            var expected = whole.Sample(rows[i % rows.Length]);
            Assert.Equal(expected, bounded.Sample(rows[i % rows.Length]));
            drawn.Add(expected);
        }
        Assert.True(drawn.Distinct().Count() > 1, $"{chain}: one token drawn throughout");
        // Most draws stay on the candidates; penalties pushing them below the cut send some to the whole vocabulary.
        Assert.True(bounded.WholeVocabularyDraws < 150, $"{chain}: {bounded.WholeVocabularyDraws} of 300 draws over the whole vocabulary");
    }

    [Fact]
    public void Sample_FlatLogits_FallsBackToTheWholeVocabularyAndDrawsTheSame()
    {
        var settings = new SamplingSettings { TopK = 0, TopP = 0.5f, MinP = 0, Temperature = 0.7f, PresencePenalty = 2, Seed = 3 };
        using var bounded = LlamaSampler.Create(fixture.Model, settings, topCandidates: true);
        using var whole = LlamaSampler.Create(fixture.Model, settings, topCandidates: false);
        var random = new Random(5);
        for (var i = 0; i < 20; i++)
        {
            var logits = Flat(random);
            Assert.Equal(whole.Sample(logits), bounded.Sample(logits));
        }
        Assert.Equal(20, bounded.WholeVocabularyDraws);
    }

    [Fact]
    public void Create_BoundsFollowTheChainsCut()
    {
        LlamaSampler On(SamplingSettings s) => LlamaSampler.Create(fixture.Model, s, topCandidates: true);
        using var topK = On(new SamplingSettings { TopK = 40 });
        using var topKPenalised = On(new SamplingSettings { TopK = 40, RepeatPenalty = 1.1f });
        using var topPOnly = On(new SamplingSettings { TopK = 0, TopP = 0.95f });
        using var greedy = On(SamplingSettings.Greedy);
        using var nothingCuts = On(new SamplingSettings { TopK = 0, TopP = 1, MinP = 0 });
        using var wideTopK = On(new SamplingSettings { TopK = TopCandidates.MaxCount + 1 });
        using var everyToken = On(new SamplingSettings { Grammar = "root ::= [a-z]+", GrammarMode = GrammarMode.EveryToken });
        // The demo model's 489 tokens are more than any bound, so each is what the chain asks for.
        Assert.Equal([40, 56, 64, 1, 0, 0, 0], new[] { topK, topKPenalised, topPOnly, greedy, nothingCuts, wideTopK, everyToken }.Select(s => s.TopCandidateCount));
    }

    [Fact]
    public void PenaltyWindow_KeepsTheLastNTokensAsLlamaCppDoes()
    {
        var window = new PenaltyWindow(3);
        foreach (var t in new[] { 1, 2, 1 }) window.Accept(t);
        Assert.Equal([1, 2], window.Tokens.Order());
        window.Accept(3); // the first 1 leaves; the second stays
        Assert.Equal([1, 2, 3], window.Tokens.Order());
        window.Accept(4);
        Assert.Equal([1, 3, 4], window.Tokens.Order());
        var off = new PenaltyWindow(-1);
        off.Accept(7);
        Assert.Empty(off.Tokens);
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(-3f)]
    public void SumOfExponentials_MatchesTheSumInDoublePrecision(float max)
    {
        var random = new Random(9);
        var logits = new float[Vocabulary + 5]; // not a multiple of the vector width
        for (var i = 0; i < logits.Length; i++) logits[i] = (float)(random.NextDouble() * 40 - 30);
        logits[17] = float.NegativeInfinity; // a masked token
        logits[100] = -95; // below float's smallest normal after the shift
        var exact = logits.Sum(l => Math.Exp((double)l - max));
        foreach (var vector512 in new[] { false, System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated }.Distinct())
        {
            var sum = TopCandidates.SumOfExponentials(logits, max, vector512);
            Assert.True(Math.Abs(sum - exact) / exact < 1e-6, $"{sum} against {exact} (512-bit vectors: {vector512})");
        }
    }

    [Fact]
    public void PresencePenalty_OverAWindowOfOne_AlternatesTheTwoBestTokens()
    {
        // What the penalty's binding must do in the loaded library: the window and the penalty arrive where llama.cpp reads them.
        var logits = new float[fixture.Model.Vocab.TokenCount];
        logits[5] = 10;
        logits[9] = 9;
        using var sampler = LlamaSampler.Create(fixture.Model, new SamplingSettings { Temperature = 0, PresencePenalty = 1000, PenaltyLastN = 1 }, topCandidates: false);
        Assert.Equal([5, 9, 5, 9], Enumerable.Range(0, 4).Select(_ => sampler.Sample(logits)));
    }
}

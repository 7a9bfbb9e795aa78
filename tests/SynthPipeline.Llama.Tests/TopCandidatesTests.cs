using LLama.Native;

namespace SynthPipeline.Llama.Tests;

public sealed class TopCandidatesTests
{
    /// <summary>What the selection must equal: every logit sorted, highest first, lower id first among equals.</summary>
    private static (int Id, float Logit)[] ByFullSort(float[] logits, int k) =>
        [.. logits.Select((l, i) => (Id: i, Logit: l)).OrderByDescending(t => t.Logit).ThenBy(t => t.Id).Take(k)];

    private static (int Id, float Logit)[] Select(float[] logits, int k)
    {
        var top = new LLamaTokenData[k];
        var n = TopCandidates.Select(logits, k, top);
        return [.. top.Take(n).Select(t => ((int)t.ID, t.Logit))];
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(7, 40)] // a vocabulary smaller than k
    [InlineData(489, 40)] // the demo model's vocabulary: not a multiple of the vector width
    [InlineData(32_000, 1)]
    [InlineData(32_003, 40)]
    [InlineData(128_256, 128)]
    public void Select_RandomLogits_GivesTheFirstKOfAFullSort(int vocabulary, int k)
    {
        var random = new Random(vocabulary * 31 + k);
        for (var round = 0; round < 5; round++)
        {
            // Rising logits make every vector beat the threshold; falling ones almost none; random ones in between.
            var logits = round switch
            {
                0 => [.. Enumerable.Range(0, vocabulary).Select(i => (float)i)],
                1 => [.. Enumerable.Range(0, vocabulary).Select(i => (float)-i)],
                _ => Enumerable.Range(0, vocabulary).Select(_ => (float)(random.NextDouble() * 20 - 10)).ToArray(),
            };
            Assert.Equal(ByFullSort(logits, k), Select(logits, k));
        }
    }

    [Fact]
    public void Select_TiesAndMaskedTokens_KeepsLowerIdsAtTheCutAndRanksNegativeInfinityLast()
    {
        // Quantised models give many equal logits, and grammars or logit biases give -inf.
        var random = new Random(5);
        var logits = Enumerable.Range(0, 5000).Select(_ => (float)random.Next(0, 6)).ToArray();
        for (var i = 0; i < logits.Length; i += 3) logits[i] = float.NegativeInfinity;
        foreach (var k in new[] { 1, 3, 40, 128 }) Assert.Equal(ByFullSort(logits, k), Select(logits, k));

        var allMasked = Enumerable.Repeat(float.NegativeInfinity, 300).ToArray();
        Assert.Equal(ByFullSort(allMasked, 10), Select(allMasked, 10));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(40)]
    [InlineData(128)]
    public void Select_LargeVocabularyWithTiesOrMostlyMasked_GivesTheFirstKOfAFullSort(int k)
    {
        // Llama 3's vocabulary with few distinct logits (most tokens tie at the cut), and masked but for a few tokens
        // (the first k tokens the scan starts from are -∞).
        var random = new Random(k);
        var ties = Enumerable.Range(0, 128_256).Select(_ => (float)random.Next(0, 4)).ToArray();
        Assert.Equal(ByFullSort(ties, k), Select(ties, k));

        var masked = Enumerable.Repeat(float.NegativeInfinity, 128_256).ToArray();
        for (var i = 0; i < 100; i++) masked[random.Next(masked.Length)] = (float)random.NextDouble();
        Assert.Equal(ByFullSort(masked, k), Select(masked, k));
    }

    [Fact]
    public void Select_BadArguments_SayWhatIsWrong()
    {
        var logits = new float[100];
        Assert.Throws<ArgumentOutOfRangeException>(() => TopCandidates.Select(logits, 0, new LLamaTokenData[1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => TopCandidates.Select(logits, TopCandidates.MaxCount + 1, new LLamaTokenData[200]));
        var e = Assert.Throws<ArgumentException>(() => TopCandidates.Select(logits, 10, new LLamaTokenData[5]));
        Assert.Contains("room for 5", e.Message, StringComparison.Ordinal);
    }
}

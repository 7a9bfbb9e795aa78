using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SynthPipeline.Core.Novelty;

namespace SynthPipeline.Core.Tests;

public sealed class NoveltyIndexTests
{
    // A small word pool makes long common subsequences, and scores on the 0.7 line, common.
    private static readonly string[] Pool = ["the", "a", "write", "list", "of", "three", "tips", "for", "healthy", "story", "Poem", "cat", "dog", "x-ray", "42"];

    private static readonly Gen<string> Instruction =
        from n in Gen.Choose(0, 24)
        from words in Gen.ArrayOf(Gen.Elements(Pool), n)
        from punct in Gen.Elements("", ".", "?", "!!", ", ok")
        select string.Join(' ', words) + punct;

    public static Arbitrary<List<string>> Sets() => Gen.ListOf(Instruction).Select(l => l.ToList()).ToArbitrary();

    /// <summary>The naive baseline: score every earlier accepted instruction with the reference port, take the first maximum.</summary>
    private static List<(bool Accepted, int Index, double Score)> Naive(IReadOnlyList<string> candidates)
    {
        var accepted = new List<string>();
        var result = new List<(bool, int, double)>();
        foreach (var c in candidates)
        {
            var (index, best) = (-1, 0.0);
            for (var j = 0; j < accepted.Count; j++)
            {
                var f = RougeL.ScoreNaive(c, accepted[j]);
                if (index < 0 || f > best) (index, best) = (j, f);
            }
            var ok = best <= 0.7;
            if (ok) accepted.Add(c);
            result.Add((ok, index, best));
        }
        return result;
    }

    private static List<(bool Accepted, int Index, double Score)> Fast(IReadOnlyList<string> candidates)
    {
        var index = new NoveltyIndex();
        var result = new List<(bool, int, double)>();
        foreach (var c in candidates)
        {
            var m = index.FindMostSimilar(c);
            var ok = !NoveltyIndex.IsTooSimilar(m);
            if (ok) index.Add(c);
            result.Add((ok, m.Index, m.Score));
        }
        return result;
    }

    [Property(Arbitrary = [typeof(NoveltyIndexTests)], MaxTest = 300)]
    public void FindMostSimilar_RandomInstructionSets_SameDecisionsScoresAndMatchesAsNaive(List<string> candidates) =>
        Assert.Equal(Naive(candidates), Fast(candidates));

    [Fact]
    public void FindMostSimilar_RealLookingSetAboveTheParallelThreshold_SameAsNaive()
    {
        // Seed-like tasks and their rewordings: 6,000 candidates so the scan is split across threads.
        var rng = new Random(7);
        string[] starts = ["Give", "Write", "Explain", "List", "Describe", "Classify", "Summarize", "Suggest", "Rewrite", "Find"];
        string[] middles = ["three tips for", "a short story about", "the difference between", "five facts about", "a polite email about", "the main idea of"];
        string[] topics = ["staying healthy", "a cat and a dog", "renewable energy", "the French revolution", "learning to code", "remote work", "a rainy day", "saving money"];
        var candidates = Enumerable.Range(0, 6000).Select(_ =>
            $"{starts[rng.Next(starts.Length)]} {middles[rng.Next(middles.Length)]} {topics[rng.Next(topics.Length)]}" +
            (rng.Next(3) == 0 ? $" in {rng.Next(2, 9)} sentences" : "") + (rng.Next(4) == 0 ? " for a child" : ".")).ToList();
        // Accepted sets stay small with this much overlap; check the scan over a large index directly too.
        var index = new NoveltyIndex();
        var stored = candidates.Take(5000).ToList();
        foreach (var s in stored) index.Add(s);
        foreach (var c in candidates.Skip(5000).Take(60))
        {
            var expected = stored.Select((s, j) => (j, f: RougeL.ScoreNaive(c, s))).Aggregate((a, b) => b.f > a.f ? b : a);
            Assert.Equal(new NoveltyMatch(expected.j, expected.f), index.FindMostSimilar(c));
        }
        Assert.Equal(Naive(candidates.Take(800).ToList()), Fast(candidates.Take(800).ToList()));
    }

    [Fact]
    public void FindMostSimilar_LongInstructionsOverSeveralWords_SameAsNaive()
    {
        var rng = new Random(3);
        string Long() => string.Join(' ', Enumerable.Range(0, rng.Next(60, 150)).Select(_ => Pool[rng.Next(Pool.Length)]));
        var candidates = Enumerable.Range(0, 120).Select(_ => Long()).ToList();
        Assert.Equal(Naive(candidates), Fast(candidates));
    }

    [Theory]
    [InlineData("Hello, World! It's 2024.", new[] { "hello", "world", "it", "s", "2024" })]
    [InlineData("  ", new string[0])]
    [InlineData("x-ray_vision", new[] { "x", "ray", "vision" })]
    [InlineData("Ça va?", new[] { "a", "va" })]
    public void Tokenize_ReferenceRules_LowercasesAndSplitsOnNonAlphanumerics(string text, string[] expected) =>
        Assert.Equal(expected, RougeTokenizer.Tokenize(text));

    [Fact]
    public void F_ExactlyPointSevenMathematically_RoundsAsTheReferenceDoes()
    {
        // 2·lcs/(m+n) = 0.7 with lcs 7, lengths 10 and 10: Python gives 2*0.7*0.7/1.4 = 0.7 exactly;
        // lcs 7 with lengths 8 and 12 gives 0.7000000000000001 in Python, so the reference rejects that pair.
        Assert.Equal(0.7, RougeL.F(7, 10, 10));
        Assert.Equal(0.7000000000000001, RougeL.F(7, 8, 12));
        Assert.True(NoveltyIndex.IsTooSimilar(new NoveltyMatch(0, RougeL.F(7, 8, 12))));
        Assert.False(NoveltyIndex.IsTooSimilar(new NoveltyMatch(0, RougeL.F(7, 10, 10))));
    }
}

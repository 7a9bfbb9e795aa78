using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SynthPipeline.Core.Augment;

namespace SynthPipeline.Core.Tests;

public sealed class ConversationMixerTests
{
    private static MixSettings Settings(double l, double n, double r, int min, int max, bool leftovers = true) =>
        new(new Dictionary<ExampleKind, double> { [ExampleKind.Legitimate] = l, [ExampleKind.Negative] = n, [ExampleKind.Refusal] = r }, min, max, leftovers);

    private static Dictionary<ExampleKind, int> Pools(int l, int n, int r) =>
        new() { [ExampleKind.Legitimate] = l, [ExampleKind.Negative] = n, [ExampleKind.Refusal] = r };

    [Fact]
    public void Plan_SixtyTwentyTwenty_ExactProportionsAndLengthsInRange()
    {
        var plan = ConversationMixer.Plan(Pools(700, 200, 300), Settings(0.6, 0.2, 0.2, 2, 4), seed: 1);
        var turns = plan.Conversations.SelectMany(c => c).ToList();
        // Negatives are scarcest: 200 at 20% makes 1,000 turns, so 600 / 200 / 200.
        Assert.Equal(600, turns.Count(t => t.Kind == ExampleKind.Legitimate));
        Assert.Equal(200, turns.Count(t => t.Kind == ExampleKind.Negative));
        Assert.Equal(200, turns.Count(t => t.Kind == ExampleKind.Refusal));
        Assert.All(plan.Conversations, c => Assert.InRange(c.Count, 2, 4));
        Assert.True(plan.Conversations.Count(c => c.Select(t => t.Kind).Distinct().Count() > 1) > plan.Conversations.Count / 2, "most conversations should mix kinds");
        // The rest become single exchanges: 100 legitimate and 100 refusals.
        Assert.Equal(200, plan.Singles.Count);
        Assert.Empty(plan.Unused);
    }

    [Fact]
    public void Plan_SameInputsAndSeed_SamePlan()
    {
        var a = ConversationMixer.Plan(Pools(50, 20, 20), Settings(0.6, 0.2, 0.2, 2, 4), seed: 9);
        var b = ConversationMixer.Plan(Pools(50, 20, 20), Settings(0.6, 0.2, 0.2, 2, 4), seed: 9);
        Assert.Equal(a.Conversations.SelectMany(c => c.Append(new MixedTurn(ExampleKind.Legitimate, -1))), b.Conversations.SelectMany(c => c.Append(new MixedTurn(ExampleKind.Legitimate, -1))));
    }

    [Fact]
    public void Plan_LeftoversDisabled_RestIsUnusedNotSingle()
    {
        var plan = ConversationMixer.Plan(Pools(10, 2, 2), Settings(0.6, 0.2, 0.2, 2, 4, leftovers: false), seed: 3);
        Assert.Empty(plan.Singles);
        Assert.Equal(14, plan.Conversations.Sum(c => c.Count) + plan.Unused.Count);
    }

    public static Arbitrary<(int L, int N, int R, int Sl, int Sn, int Sr, int Min, int Extra, int Seed)> Cases() =>
        (from l in Gen.Choose(0, 60)
         from n in Gen.Choose(0, 60)
         from r in Gen.Choose(0, 60)
         from sl in Gen.Choose(0, 10)
         from sn in Gen.Choose(0, 10)
         from sr in Gen.Choose(1, 10)
         from min in Gen.Choose(1, 4)
         from extra in Gen.Choose(0, 4)
         from seed in Gen.Choose(0, 1000)
         select (l, n, r, sl, sn, sr, min, extra, seed)).ToArbitrary();

    [Property(Arbitrary = [typeof(ConversationMixerTests)], MaxTest = 300)]
    public void Plan_AnyPoolsAndShares_EveryExampleOnceLengthsInRangeKindsInProportion((int L, int N, int R, int Sl, int Sn, int Sr, int Min, int Extra, int Seed) c)
    {
        var settings = Settings(c.Sl, c.Sn, c.Sr, c.Min, c.Min + c.Extra);
        var plan = ConversationMixer.Plan(Pools(c.L, c.N, c.R), settings, c.Seed);
        var all = plan.Conversations.SelectMany(t => t).Concat(plan.Singles).ToList();
        Assert.Equal(all.Count, all.Distinct().Count());
        Assert.Equal(c.L + c.N + c.R, all.Count);
        Assert.All(all, t => Assert.InRange(t.Index, 0, Pools(c.L, c.N, c.R)[t.Kind] - 1));
        Assert.All(plan.Conversations, conv => Assert.InRange(conv.Count, c.Min, c.Min + c.Extra));
        var mixed = plan.Conversations.SelectMany(t => t).ToList();
        if (mixed.Count == 0) return;
        double total = c.Sl + c.Sn + c.Sr;
        // Counts are in proportion before the cut into conversations; a cut can leave fewer than MinTurns over.
        foreach (var (kind, share) in new[] { (ExampleKind.Legitimate, c.Sl), (ExampleKind.Negative, c.Sn), (ExampleKind.Refusal, c.Sr) })
            Assert.InRange(mixed.Count(t => t.Kind == kind), Math.Floor(mixed.Count * share / total) - c.Min - 1, Math.Ceiling(mixed.Count * share / total) + c.Min + 1);
    }
}

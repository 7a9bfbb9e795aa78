using Microsoft.Extensions.AI;
using SynthPipeline.Llama;

namespace SynthPipeline.Server.Tests;

/// <summary>The seeds of a request's choices: seed + i, distinct, never the value that means "draw a seed".</summary>
public sealed class ServedRequestTests
{
    private static ServedRequest WithSeed(long? seed) => new(ServedApi.Chat, [new ChatMessage(ChatRole.User, "hi")], new ChatOptions { Seed = seed }, false, false) { Choices = 4 };

    [Fact]
    public void OptionsFor_ASeed_GivesChoiceISeedPlusIWrappingPastTheRandomSeedValue()
    {
        Assert.Equal([11L, 12L, 13L, 14L], Enumerable.Range(0, 4).Select(i => WithSeed(11).OptionsFor(i).Seed!.Value));
        // 0xFFFFFFFE + 1 would be 0xFFFFFFFF, which llama.cpp reads as "draw a seed": the choices wrap to 0, 1, 2 instead.
        var seeds = Enumerable.Range(0, 4).Select(i => WithSeed(0xFFFFFFFE).OptionsFor(i).Seed!.Value).ToList();
        Assert.Equal([0xFFFFFFFEL, 0L, 1L, 2L], seeds);
        Assert.DoesNotContain((long)SamplingSettings.RandomSeed, seeds);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(-1L)]
    public void OptionsFor_NoSeedOrTheRandomSeed_LeavesEveryChoiceToDrawItsOwn(long? seed)
    {
        var request = WithSeed(seed);

        Assert.All(Enumerable.Range(0, 4), i => Assert.Same(request.Options, request.OptionsFor(i)));
    }
}

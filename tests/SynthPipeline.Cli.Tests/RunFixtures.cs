namespace SynthPipeline.Cli.Tests;

/// <summary>What the <c>synth run</c> tests share: settings that make a demo run reproducible, and a one-document corpus.</summary>
internal static class RunFixtures
{
    /// <summary>No flash attention (its reductions vary with batch shape), one judge vote at a temperature that lets the demo judge accept some.</summary>
    public static Dictionary<string, string> Deterministic() => new()
    {
        ["Teacher__FlashAttention"] = "off", ["Augment__JudgeTemperature"] = "2", ["Augment__JudgeVotes"] = "1",
    };

    /// <summary>A one-document corpus in <paramref name="dir"/>, so the variant stage stays short.</summary>
    public static string Corpus(string dir)
    {
        var corpus = Path.Combine(dir, "docs");
        Directory.CreateDirectory(corpus);
        File.WriteAllText(Path.Combine(corpus, "harbour.md"), "The harbour lighthouse was built in 1857. Its lamp burned whale oil until 1901.\n\n" +
            "The keeper rowed to the mainland every four days for supplies, and the ferry now runs twice a day in summer.");
        return corpus;
    }
}

using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SynthPipeline.Core.Text;

namespace SynthPipeline.Core.Tests;

public sealed class StopSequenceMatcherTests
{
    // A small alphabet makes stop sequences (and near misses) common in random text.
    private static readonly Gen<string> Small = Gen.ListOf(Gen.Elements('a', 'b', 'c', '\n')).Select(cs => new string(cs.ToArray()));

    public static Arbitrary<(string Text, List<int> Cuts, List<string> Stops)> Cases() =>
        (from text in Small
         from cuts in Gen.ListOf(Gen.Choose(0, 40))
         from stops in Gen.ListOf(Small.Where(s => s.Length is > 0 and < 5))
         select (text, cuts.ToList(), stops.Take(3).ToList())).ToArbitrary();

    [Property(Arbitrary = [typeof(StopSequenceMatcherTests)], MaxTest = 500)]
    public void Append_AnyChunking_EmitsTextUpToTheFirstCompletedStopAndNeverTheStop((string Text, List<int> Cuts, List<string> Stops) c)
    {
        var matcher = new StopSequenceMatcher(c.Stops);
        var emitted = "";
        var at = 0;
        foreach (var cut in c.Cuts.Select(x => Math.Min(x, c.Text.Length)).Order().Append(c.Text.Length))
        {
            if (cut < at) continue;
            emitted += matcher.Append(c.Text[at..cut]);
            at = cut;
        }
        emitted += matcher.Flush();

        // Oracle on the whole text: the occurrence that ends first wins; ties go to the one that starts first.
        var first = c.Stops.Select(s => (Start: c.Text.IndexOf(s, StringComparison.Ordinal), s.Length))
            .Where(o => o.Start >= 0).OrderBy(o => o.Start + o.Length).ThenBy(o => o.Start).Select(o => o.Start).DefaultIfEmpty(-1).First();
        Assert.Equal(first >= 0 ? c.Text[..first] : c.Text, emitted);
        Assert.Equal(first >= 0, matcher.Stopped);
    }

    [Fact]
    public void Append_StopSplitAcrossTokens_HoldsBackThePrefixThenStops()
    {
        var m = new StopSequenceMatcher(["</answer>"]);
        Assert.Equal("The answer is 4", m.Append("The answer is 4</an"));
        Assert.Equal("", m.Append("swer> trailing"));
        Assert.True(m.Stopped);
        Assert.Equal("", m.Flush());
    }

    [Fact]
    public void Append_ShortStopCompletesInsideALongerOne_StopsAtTheShortOneWhateverTheChunking()
    {
        string[] stops = ["c", "\nacc"];
        var whole = new StopSequenceMatcher(stops);
        var byChar = new StopSequenceMatcher(stops);
        var streamed = string.Concat("\n\naccab".Select(ch => byChar.Append(ch.ToString())));
        Assert.Equal("\n\na", whole.Append("\n\naccab"));
        Assert.Equal("\n\na", streamed);
    }

    [Fact]
    public void Flush_PrefixThatNeverCompleted_IsEmitted()
    {
        var m = new StopSequenceMatcher(["###"]);
        Assert.Equal("x", m.Append("x##"));
        Assert.Equal("##", m.Flush());
    }
}

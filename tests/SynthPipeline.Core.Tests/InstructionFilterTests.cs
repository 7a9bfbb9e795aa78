using System.Text.RegularExpressions;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SynthPipeline.Core.SelfInstruct;

namespace SynthPipeline.Core.Tests;

public sealed class InstructionFilterTests
{
    private readonly InstructionFilter _filter = new();

    [Theory]
    [InlineData("Give three tips", "too_short")]
    [InlineData("Describe the picture in detail please", "blacklisted_keyword")]
    [InlineData("Explain how to GO TO the station by bus", "blacklisted_keyword")]
    [InlineData("Write a program that sorts a list of numbers", "write_a_program")]
    [InlineData("\"Quote\" this sentence back to me please", "starts_with_punctuation")]
    [InlineData("Écris un poème sur la mer ce soir", "starts_with_non_ascii")]
    [InlineData("", "empty")]
    public void Check_ReferenceRules_RejectWithTheirReason(string instruction, string reason) =>
        Assert.Equal(reason, _filter.Check(InstructionFilter.Normalize(instruction))?.Reason);

    [Theory]
    [InlineData("Give three tips for staying healthy.")]
    [InlineData("Explain the mapping between keys and values in a dictionary.")]
    [InlineData("Summarize the profile of this applicant in two sentences.")]
    public void Check_OrdinaryInstructions_Pass(string instruction) =>
        Assert.Null(_filter.Check(InstructionFilter.Normalize(instruction)));

    [Fact]
    public void Check_WordCountBounds_MoreThanThreeAndAtMost150()
    {
        Assert.Null(_filter.Check("One two three four"));
        Assert.Equal("too_long", _filter.Check(string.Join(' ', Enumerable.Repeat("word", 151)))?.Reason);
        Assert.Null(_filter.Check(string.Join(' ', Enumerable.Repeat("word", 150))));
    }

    [Fact]
    public void Check_AlpacaAdditions_AreOptIn()
    {
        var alpaca = new InstructionFilter(new InstructionFilterOptions
        {
            Blacklist = [.. InstructionFilterOptions.ReferenceBlacklist, .. InstructionFilterOptions.AlpacaAdditions],
        });
        const string text = "Compose some music for a birthday party";
        Assert.Null(_filter.Check(text));
        Assert.Equal(("blacklisted_keyword", "music"), alpaca.Check(text));
    }

    [Fact]
    public void Normalize_WhitespaceAndCase_CollapsesAndCapitalizesOnlyTheFirstLetter() =>
        Assert.Equal("Tell me about NASA and Paris.", InstructionFilter.Normalize("  tell   me about\nNASA and Paris.  "));

    [Fact]
    public void Parse_TruncatedContinuation_DropsTheLastItemOnly()
    {
        const string text = " Write a haiku about autumn.\n10. Explain recursion to a child.\n11 . Name the";
        Assert.Equal(["Write a haiku about autumn.", "Explain recursion to a child.", "Name the"], InstructionListParser.Parse(text, 9, truncated: false).Items);
        Assert.Equal(["Write a haiku about autumn.", "Explain recursion to a child."], InstructionListParser.Parse(text, 9, truncated: true).Items);
    }

    /// <summary>The reference's split: <c>re.split(r"\n\d+\s?\. ", text)</c>, items trimmed, empties and (when cut) the last dropped.</summary>
    private static List<string> ReferenceSplit(string text, bool truncated)
    {
        var items = Regex.Split(text, @"\n\d+\s?\. ").ToList();
        if (truncated && items.Count > 0) items.RemoveAt(items.Count - 1);
        return [.. items.Select(i => i.Trim()).Where(i => i.Length > 0)];
    }

    private static readonly string[] Words = ["write", "a", "poem", "about", "tides", "explain", "why", "10.5", "is", "more", "than", "ten", "list", "three", "rivers"];

    public static Arbitrary<(string Text, bool Truncated)> CompletionAnswers() =>
        (from count in Gen.Choose(1, 8)
         from items in Gen.ListOf(Gen.ListOf(Gen.Elements(Words)).Where(w => w.Count > 0).Select(w => char.ToUpperInvariant(w[0][0]) + string.Join(' ', w)[1..] + "."), count)
         from spaced in Gen.Elements(true, false)
         from truncated in Gen.Elements(true, false)
         select (" " + items[0] + string.Concat(items.Skip(1).Select((item, i) => $"\n{10 + i}{(spaced && i % 2 == 0 ? " " : "")}. {item}")), truncated)).ToArbitrary();

    /// <summary>On a completion model's answer (the reference's case) the chat-aware parser finds exactly the reference's items.</summary>
    [Property(Arbitrary = [typeof(InstructionFilterTests)], MaxTest = 300)]
    public bool Parse_CompletionStyleAnswer_SameItemsAsTheReferenceSplit((string Text, bool Truncated) answer) =>
        ReferenceSplit(answer.Text, answer.Truncated).SequenceEqual(InstructionListParser.Parse(answer.Text, 9, answer.Truncated).Items);
}

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
        Assert.Equal(["Write a haiku about autumn.", "Explain recursion to a child.", "Name the"], NumberedListParser.Parse(text, truncated: false));
        Assert.Equal(["Write a haiku about autumn.", "Explain recursion to a child."], NumberedListParser.Parse(text, truncated: true));
    }
}

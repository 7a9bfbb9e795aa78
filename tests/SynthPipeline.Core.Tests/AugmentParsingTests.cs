using SynthPipeline.Core.Augment;

namespace SynthPipeline.Core.Tests;

public sealed class AugmentParsingTests
{
    [Fact]
    public void Pairs_NumberedMultilineAnswers_EveryCompletePair()
    {
        const string text = "1. Question: What pulls the tides?\nAnswer: The Moon's gravity,\nmostly.\n\n2. Question: How often?\nAnswer: Twice a day.\nQuestion: Orphan?";
        Assert.Equal([("What pulls the tides?", "The Moon's gravity,\nmostly."), ("How often?", "Twice a day.")], LabeledFields.Pairs(text, truncated: false));
    }

    [Fact]
    public void Pairs_MarkdownFormattedLabels_ReadWithoutTheMarkup()
    {
        const string text = "Here are the pairs:\n\n**Question:** What pulls the tides?\n**Answer:** The Moon.\n\n- *Question*: How often?\n- *Answer*: Twice a day.";
        Assert.Equal([("What pulls the tides?", "The Moon."), ("How often?", "Twice a day.")], LabeledFields.Pairs(text, truncated: false));
    }

    [Fact]
    public void JudgeVerdict_BoldOrQuotedValues_AreRead()
    {
        string[] criteria = ["Supported"];
        Assert.True(JudgeVerdict.Parse("**Supported:** **YES**\n**Reason:** stated.", criteria).Criteria["Supported"]);
        Assert.False(JudgeVerdict.Parse("Supported: \"No\" - it is not stated", criteria).Criteria["Supported"]);
        Assert.Null(JudgeVerdict.Parse("Supported: maybe", criteria).Criteria["Supported"]);
    }

    [Fact]
    public void Pairs_Truncated_DropsTheLastPair()
    {
        const string text = "Question: A?\nAnswer: a.\nQuestion: B?\nAnswer: b is cut";
        Assert.Equal([("A?", "a.")], LabeledFields.Pairs(text, truncated: true));
    }

    [Fact]
    public void Single_MissingOrEmptyField_IsNull()
    {
        string[] labels = ["Question", "Reply"];
        Assert.Null(LabeledFields.Single("Question: Q?\nReply:", labels));
        Assert.Null(LabeledFields.Single("Question: Q?", labels));
        Assert.Equal("R.", LabeledFields.Single("question: Q?\nREPLY: R.", labels)!["Reply"]);
    }

    [Fact]
    public void JudgeTally_ThreeVotes_DecidesAsSoonAsTheMajorityIsSettled()
    {
        string[] criteria = ["Contradicts", "Corrects"];
        var tally = new JudgeTally(criteria, 3);
        tally.Add(JudgeVerdict.Parse("Contradicts: YES\nCorrects: YES\nReason: fine", criteria));
        Assert.Null(tally.Decision);
        tally.Add(JudgeVerdict.Parse("Contradicts: yes.\nCorrects: YES", criteria));
        Assert.True(tally.Decision);

        var rejected = new JudgeTally(criteria, 3);
        rejected.Add(JudgeVerdict.Parse("Contradicts: YES\nCorrects: NO\nReason: it agrees with the premise", criteria));
        Assert.Null(rejected.Decision);
        rejected.Add(JudgeVerdict.Parse("I think so", criteria)); // unreadable: counts as NO
        Assert.False(rejected.Decision);
        Assert.Equal("Corrects", rejected.FailedCriterion); // YES then NO for Contradicts is still open; NO, NO settles Corrects
        Assert.Contains("it agrees with the premise", rejected.Describe(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("No, actually the tide comes twice a day.", true)]
    [InlineData("  Actually, it is the Moon.", true)]
    [InlineData("That’s not right: it is the Moon.", true)]
    [InlineData("Nothing could be further from the truth.", false)]
    [InlineData("The tide comes twice a day. No, actually…", false)]
    public void StartsWithCorrection_DefaultOpeners_WholeWordAtTheStartOnly(string response, bool expected) =>
        Assert.Equal(expected, ResponseChecks.StartsWithCorrection(response, ResponseChecks.DefaultCorrectionOpeners));

    [Fact]
    public void Opening_DifferentPunctuationAndCase_SameOpening()
    {
        Assert.Equal("i can't give you", ResponseChecks.Opening("I can’t give you a figure."));
        Assert.Equal(ResponseChecks.Opening("I CAN'T, give you..."), ResponseChecks.Opening("i can't give you"));
    }
}

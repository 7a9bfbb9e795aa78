using SynthPipeline.Core.Augment;
using SynthPipeline.Core.SelfInstruct;

namespace SynthPipeline.Core.Tests;

/// <summary>Augment's labelled fields as chat models write them: markup, Q/A, numbered labels, preambles and closing offers.</summary>
public sealed class ChatShapedFieldsTests
{
    public static TheoryData<string, (string, string)[], string[]> Answers => new()
    {
        { "Question: When was it built?\nAnswer: In 1857.", [("When was it built?", "In 1857.")], [] },
        { "Sure! Here are two questions about the passage:\n\n**Question:** When was it built?\n**Answer:** In **1857**.\n\n**Question:** What did it burn?\n**Answer:** Whale oil.\n\nLet me know if you'd like more questions!",
            [("When was it built?", "In 1857."), ("What did it burn?", "Whale oil.")], ["preamble", "closing_remark"] },
        { "Q: When was it built?\nA: In 1857.\n\nQ: What did it burn?\nA: Whale oil.", [("When was it built?", "In 1857."), ("What did it burn?", "Whale oil.")], [] },
        { "Question 1: When was it built?\nAnswer 1: In 1857.\nQuestion 2: What did it burn?\nAnswer 2: Whale oil.", [("When was it built?", "In 1857."), ("What did it burn?", "Whale oil.")], [] },
        { "1. **Question:** When was it built?\n   **Answer:** In 1857.\n2. **Question:** Who kept it?\n3. **Question:** What did it burn?\n   **Answer:** Whale oil.\n\nI hope these help!",
            [("When was it built?", "In 1857."), ("What did it burn?", "Whale oil.")], ["incomplete_pair", "closing_remark"] },
    };

    [Theory]
    [MemberData(nameof(Answers))]
    public void Pairs_ChatShapes_CleanPairsAndEveryDropExplained(string answer, (string, string)[] pairs, string[] reasons)
    {
        var dropped = new List<DroppedText>();

        var parsed = LabeledFields.Pairs(answer, truncated: false, dropped: dropped);

        Assert.Equal(pairs, parsed);
        Assert.Equal(reasons.Order(), dropped.Select(d => d.Reason).Distinct().Order());
    }

    [Fact]
    public void Single_ClosingOfferAfterTheLastField_IsNotPartOfIt()
    {
        var dropped = new List<DroppedText>();

        var fields = LabeledFields.Single("Question: Is the bridge open?\nAnswer: No, actually it closed in 2019.\n\nFeel free to ask if you need anything else.", ["Question", "Answer"], dropped);

        Assert.Equal("No, actually it closed in 2019.", fields!["Answer"]);
        Assert.Equal("closing_remark", Assert.Single(dropped).Reason);
    }
}

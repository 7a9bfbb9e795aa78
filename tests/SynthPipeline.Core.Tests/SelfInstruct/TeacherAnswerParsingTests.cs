using SynthPipeline.Core.SelfInstruct;

namespace SynthPipeline.Core.Tests.SelfInstruct;

/// <summary>Answers in the shapes real chat teachers write them, read into instructions and instances with every drop explained.</summary>
public sealed class TeacherAnswerParsingTests
{
    public static TheoryData<string, string[], string[]> InstructionAnswers => new()
    {
        // The reference's completion model: continues item 9, one item a line.
        { " Explain how tides work.\n10. Describe a sunset to a blind person.\n11. List three uses of copper.", ["Explain how tides work.", "Describe a sunset to a blind person.", "List three uses of copper."], [] },
        // GPT-style preamble and offer; the list restarts at the open number.
        { "Sure! Here are 7 more tasks:\n\n9. Explain how tides work.\n10. Describe a sunset.\n\nLet me know if you'd like more!", ["Explain how tides work.", "Describe a sunset."], ["preamble", "closing_remark"] },
        // What is left when a "\n\n" stop cuts a chat answer after its preamble.
        { "Here are some new tasks for you:", [], ["preamble"] },
        // Llama-style bold numbers.
        { "Here are some new tasks for you:\n\n**9.** Explain how tides work.\n**10.** Describe a sunset.", ["Explain how tides work.", "Describe a sunset."], ["preamble"] },
        // "Task N:" with markdown, Mistral-style.
        { "**Task 9:** Explain how tides work.\n**Task 10:** Describe a sunset.", ["Explain how tides work.", "Describe a sunset."], [] },
        { "9) Explain how tides work.\n10) Describe a sunset.", ["Explain how tides work.", "Describe a sunset."], [] },
        // A heading and emphasis inside an item.
        { "### New tasks\n9. **Summarize** the *main* points of a news article.\n10. Translate `hello` into French.", ["Summarize the main points of a news article.", "Translate `hello` into French."], ["not_an_instruction"] },
        // Refusing the meta-task is not an instruction.
        { "I'm sorry, but I can't generate more tasks without more context.", [], ["refusal"] },
        // Decimal numbers are not item numbers.
        { " Round 10.5 to the nearest integer.\n10. Convert 3.75 into a fraction.", ["Round 10.5 to the nearest integer.", "Convert 3.75 into a fraction."], [] },
        // A bulleted numbered list with a closing question.
        { "- 9. Explain how tides work.\n- 10. Describe a sunset.\n\nWould you like me to add more?", ["Explain how tides work.", "Describe a sunset."], ["closing_remark"] },
    };

    [Theory]
    [MemberData(nameof(InstructionAnswers))]
    public void InstructionListParser_ChatAndCompletionShapes_ItemsOnlyAndEveryDropExplained(string answer, string[] items, string[] reasons)
    {
        var parsed = InstructionListParser.Parse(answer, openNumber: 9, truncated: false);

        Assert.Equal(items, parsed.Items);
        Assert.Equal(reasons, parsed.Dropped.Select(d => d.Reason).Distinct());
    }

    [Fact]
    public void InstructionListParser_Truncated_DropsTheLastItemAsCut()
    {
        var parsed = InstructionListParser.Parse(" Explain tides.\n10. Describe a sun", 9, truncated: true);

        Assert.Equal(["Explain tides."], parsed.Items);
        Assert.Equal(new DroppedText("Describe a sun", "cut_by_token_limit"), Assert.Single(parsed.Dropped));
    }

    public static TheoryData<string, (string, string)[], string[]> InputFirstAnswers => new()
    {
        { "Input: 10 °C\nOutput: 50 °F\nExample 2\nInput:\nOutput: Water boils at 100 °C.", [("10 °C", "50 °F"), ("", "Water boils at 100 °C.")], [] },
        // "Example 2:" with a colon no longer swallows the next example.
        { "Input: a cat\nOutput: un chat\n\nExample 2:\nInput: a dog\nOutput: un chien", [("a cat", "un chat"), ("a dog", "un chien")], [] },
        { "**Example 1**\n**Input:** a cat\n**Output:** un chat\n\n**Example 2**\n**Input:** a dog\n**Output:** un chien\n\nLet me know if you need more examples!",
            [("a cat", "un chat"), ("a dog", "un chien")], ["closing_remark"] },
        { "Input 1: a cat\nOutput 1: un chat\nInput 2: a dog\nOutput 2: un chien", [("a cat", "un chat"), ("a dog", "un chien")], [] },
        { "Sure! Here are two examples:\n\nExample 1\nInput: a cat\nOutput: un chat", [("a cat", "un chat")], ["preamble"] },
        // A block without an output is recorded, never dropped silently.
        { "Input: a cat\nOutput: un chat\nExample 2\nInput: a dog", [("a cat", "un chat")], ["no_output"] },
        // A multi-line output stays whole.
        { "Input: two numbers\nOutput: Step 1: add them.\nStep 2: halve the sum.", [("two numbers", "Step 1: add them.\nStep 2: halve the sum.")], [] },
    };

    [Theory]
    [MemberData(nameof(InputFirstAnswers))]
    public void ParseInputFirst_ReferenceAndChatShapes(string answer, (string, string)[] instances, string[] reasons)
    {
        var parsed = InstanceBlockParser.ParseInputFirst(answer, truncated: false);

        Assert.Equal(instances, parsed.Instances);
        Assert.Equal(reasons, parsed.Dropped.Select(d => d.Reason).Distinct());
    }

    public static TheoryData<string, (string, string)[], string[]> OutputFirstAnswers => new()
    {
        { " positive\nInput: I loved it.\nClass label: negative\nInput: It broke at once.", [("I loved it.", "positive"), ("It broke at once.", "negative")], [] },
        // Field-named inputs keep their field name; the output is the label alone.
        { " Positive\nSentence: Great!\nClass label: Negative\nSentence: Awful.", [("Sentence: Great!", "Positive"), ("Sentence: Awful.", "Negative")], [] },
        { "Sure! Here are the labels:\n\nClass label: Positive\nInput: Great!\n\nClass label: Negative\nInput: Awful.", [("Great!", "Positive"), ("Awful.", "Negative")], ["preamble"] },
        { "**Class label:** Positive\n**Input:** Great!", [("Great!", "Positive")], [] },
        { " Yes\nClass label: No", [("", "Yes"), ("", "No")], [] },
    };

    [Theory]
    [MemberData(nameof(OutputFirstAnswers))]
    public void ParseOutputFirst_ReferenceAndChatShapes(string answer, (string, string)[] instances, string[] reasons)
    {
        var parsed = InstanceBlockParser.ParseOutputFirst(answer, truncated: false);

        Assert.Equal(instances, parsed.Instances);
        Assert.Equal(reasons, parsed.Dropped.Select(d => d.Reason).Distinct());
    }
}

using SynthPipeline.Pipeline.Teacher;
using Microsoft.SemanticKernel;
using SynthPipeline.Llama.Teacher;
using SynthPipeline.Pipeline.SelfInstruct;
using SynthPipeline.Core.SelfInstruct;

namespace SynthPipeline.Pipeline.Tests;

public sealed class StageTests
{
    private static readonly string[] Seeds =
    [
        "Give three tips for staying healthy.", "Write a haiku about the sea.", "Explain what inflation is.", "Translate the sentence into French.",
        "Classify the sentiment of the review.", "Summarize the paragraph in one sentence.", "List five fruits that are red.", "Suggest a name for a bakery.",
        "Solve the math word problem step by step.", "Write a polite email declining a meeting.",
    ];

    private static InstructionStage NewStage(int target = 100) => new(Seeds, new InstructionFilter(), 0.7, target);

    [Fact]
    public void Process_NumberedAnswer_AcceptsNovelItemsAndRejectsEachWithItsReason()
    {
        var stage = NewStage();
        const string answer = " Describe your favourite season and why you like it.\n10. Draw a picture of a cat.\n11. Give three tips for staying healthy!\n" +
                              "12. Name it\n13. Describe your favourite season and why you like it a lot.\n14. Write a program that adds two numbers together.";
        var (accepted, rejected) = stage.Process(0, answer, truncated: false);

        Assert.Equal(["Describe your favourite season and why you like it."], accepted.Select(a => a.Text));
        Assert.Equal(["filter/blacklisted_keyword", "novelty/rouge_l_too_similar", "filter/too_short", "novelty/rouge_l_too_similar", "filter/write_a_program"],
            rejected.Select(r => $"{r.Stage}/{r.Reason}"));
        // The later near-copy is compared with the earlier item of the same answer.
        Assert.Equal("Describe your favourite season and why you like it.", rejected[3].MostSimilar);
        Assert.Equal("Give three tips for staying healthy.", rejected[1].MostSimilar);
        Assert.Equal(1.0, rejected[1].Score);
    }

    [Fact]
    public void Process_NoNumberedItems_IsAnUnparseableRejectionNotACrash()
    {
        var (accepted, rejected) = NewStage().Process(3, "", truncated: true);
        Assert.Empty(accepted);
        Assert.Equal("unparseable", Assert.Single(rejected).Reason);
    }

    [Fact]
    public void Process_TargetReachedMidAnswer_StopsAccepting()
    {
        var stage = NewStage(target: 1);
        var (accepted, _) = stage.Process(0, " Describe the life cycle of a butterfly in detail.\n10. Compare electric cars with petrol cars briefly.", false);
        Assert.Single(accepted);
        Assert.Equal(1, stage.AcceptedCount);
    }

    [Fact]
    public async Task BuildAsync_SamePromptIndex_SameTasksAtMostTwoMachineAndNumbered()
    {
        var prompts = new PromptLibrary(Path.Combine(AppContext.BaseDirectory, "prompts"));
        var builder = new SelfInstructPromptBuilder(prompts, Kernel.CreateBuilder().Build(), Seeds, 8, 2, runSeed: 5);
        string[] machine = ["Machine task one about gardens.", "Machine task two about rivers.", "Machine task three about clouds."];
        var a = await builder.BuildAsync(7, machine, CancellationToken.None);
        var b = await builder.BuildAsync(7, machine, CancellationToken.None);
        var c = await builder.BuildAsync(8, machine, CancellationToken.None);

        Assert.Equal(a.Text, b.Text);
        Assert.NotEqual(a.Tasks, c.Tasks);
        Assert.Equal(8, a.Tasks.Count);
        Assert.Equal(2, a.Tasks.Count(machine.Contains));
        Assert.Equal(8, a.Tasks.Distinct().Count());
        Assert.EndsWith("\n8. " + a.Tasks[7] + "\n9.", a.Text.TrimEnd(), StringComparison.Ordinal);
    }

    [Fact]
    public void ParseInputFirst_ExamplesWithAndWithoutInput_ReadsEach()
    {
        const string text = "Input: 10 °C\nOutput: 50 °F\nExample 2\nInput:\nOutput: Water boils at 100 °C.\n\nTask: next";
        Assert.Equal([new TaskInstance("10 °C", "50 °F"), new TaskInstance("", "Water boils at 100 °C.")], InstanceParser.ParseInputFirst(text, false).Instances);
    }

    [Fact]
    public void ParseOutputFirst_LabelsAndInputs_LabelIsTheOutput()
    {
        const string text = " positive\nInput: I loved it.\nClass label: negative\nInput: It broke at once.\nClass label: neu";
        Assert.Equal([new TaskInstance("I loved it.", "positive"), new TaskInstance("It broke at once.", "negative")], InstanceParser.ParseOutputFirst(text, truncated: true).Instances);
    }

    [Fact]
    public void Apply_ReferenceInstanceRules_DropsBadOnesAndInconsistentTasks()
    {
        var (kept, dropped, rejection) = InstanceFilter.Apply([
            new("a", "a"), new("", ""), new("x:", "y"), new("p", "q:"), new("in", "out"), new("in", "out"), new("", "only output"),
        ], 5);
        Assert.Null(rejection);
        Assert.Equal([new TaskInstance("in", "out"), new TaskInstance("", "only output")], kept);
        Assert.Equal(["input_equals_output", "empty_output", "input_ends_with_colon", "output_ends_with_colon", "duplicate_instance"], dropped.Select(d => d.Reason));

        var (none, _, why) = InstanceFilter.Apply([new("same input", "yes"), new("same input", "no")], 5);
        Assert.Empty(none);
        Assert.Equal(InstanceFilter.TaskInconsistent, why);
    }
}

using SynthPipeline.Core.Augment;
using SynthPipeline.Pipeline.Augment;
using SynthPipeline.Pipeline.State;

namespace SynthPipeline.Pipeline.Tests.Augment;

public sealed class JudgedBadPairsTests
{
    private static StoredExample Example(string id, ExampleKind kind, string question, string answer) =>
        new(id, kind, "doc.md", 0, 0, 10, question, answer, null, null, "ok");

    private static StoredRejection Rejection(string reason, string text) => new() { Stage = "refusal", Reason = reason, Text = text, Source = "doc.md#0" };

    [Fact]
    public void JudgedBadPairs_ABadAnswerToAnAcceptedQuestion_BecomesRejectedAgainstTheAcceptedOne()
    {
        var examples = new[]
        {
            Example("a", ExampleKind.Refusal, "What does the ferry cost today?", "I can't give today's fare; see the ferry company's site."),
            Example("b", ExampleKind.Legitimate, "When was the lighthouse built?", "In 1857."),
            Example("c", ExampleKind.Negative, "Why was it built in 1957?", "No, actually it was 1857."),
        };
        var rejections = new[]
        {
            Rejection("no_pointer", "Q: what does the ferry cost today?  | A: I can't say."),
            Rejection("not_grounded", "Q: When was the lighthouse built? | A: In 1957."),
            Rejection("not_grounded", "Q: When was the lighthouse built? | A: In 1957."),
            Rejection("not_volatile", "Q: What does the ferry cost today? | A: It is 4 euros."), // the question was at fault, not the answer
            Rejection("correction_missing", "Q: Why was it built in 1957? | premise: 1957 | A: Because."),
            Rejection("not_grounded", "Q: Who kept the lamp? | A: Nobody."), // no accepted answer to prefer
        };
        var pairs = AugmentExporter.JudgedBadPairs(examples, rejections);
        Assert.Equal(2, pairs.Count);
        Assert.Equal(("What does the ferry cost today?", "I can't give today's fare; see the ferry company's site.", "I can't say."), (pairs[0].Prompt, pairs[0].Chosen, pairs[0].Rejected));
        Assert.Equal(("When was the lighthouse built?", "In 1857.", "In 1957."), (pairs[1].Prompt, pairs[1].Chosen, pairs[1].Rejected));
        Assert.Equal(pairs.Select(p => p.Prompt), AugmentExporter.JudgedBadPairs(examples, rejections.Reverse().ToArray()).Select(p => p.Prompt));
    }
}

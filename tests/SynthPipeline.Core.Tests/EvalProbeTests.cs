using SynthPipeline.Core;
using SynthPipeline.Core.Augment;
using SynthPipeline.Core.Eval;
using SynthPipeline.Core.Text;

namespace SynthPipeline.Core.Tests;

public sealed class EvalProbeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("synth-probes").FullName;

    [Theory]
    [InlineData("The Eiffel Tower is in Paris.", "the eiffel tower is in paris", 1.0)]
    [InlineData("Paris", "The Eiffel Tower is in Paris.", 1 / 3.0)] // 1 shared of 1 predicted and 5 expected ("the" dropped): 2 * 1 * 0.2 / 1.2
    [InlineData("London", "Paris", 0.0)]
    [InlineData("a an the", "", 1.0)]
    public void TokenF1_SquadNormalisation(string prediction, string reference, double expected) =>
        Assert.Equal(expected, TokenF1.Score(prediction, reference), 6);

    [Fact]
    public void TokenF1_CountsRepeatedTokensOnce()
    {
        // "oil oil oil" shares one "oil" with "whale oil": precision 1/3, recall 1/2.
        Assert.Equal(2 * (1 / 3.0) * 0.5 / (1 / 3.0 + 0.5), TokenF1.Score("oil oil oil", "whale oil"), 6);
    }

    private static List<(string Id, ExampleKind Kind)> Items(int perKind) =>
        [.. Enum.GetValues<ExampleKind>().SelectMany(k => Enumerable.Range(0, perKind).Select(i => ($"{k}-{i}", k)))];

    [Fact]
    public void Split_HoldsOutAboutTheShareOfEachKind_TheSameEveryTime_AndKeepsTheRestApart()
    {
        var items = Items(200);
        var (held, kept) = ProbeSplit.Split(items, x => x.Kind, x => x.Id, x => x.Id, 0.1, seed: 3);
        var (again, _) = ProbeSplit.Split(items.AsEnumerable().Reverse().ToList(), x => x.Kind, x => x.Id, x => x.Id, 0.1, seed: 3);
        Assert.Equal(held.Select(h => h.Id).Order(), again.Select(h => h.Id).Order());
        Assert.Empty(held.Intersect(kept));
        Assert.Equal(items.Count, held.Count + kept.Count);
        foreach (var kind in Enum.GetValues<ExampleKind>())
            Assert.InRange(held.Count(h => h.Kind == kind), 10, 35);
        Assert.NotEqual(held.Select(h => h.Id).Order(), ProbeSplit.Split(items, x => x.Kind, x => x.Id, x => x.Id, 0.1, seed: 4).HeldOut.Select(h => h.Id).Order());
    }

    [Fact]
    public void Split_SmallKinds_GiveOneProbeButNeverTheirLastExample()
    {
        var items = new List<(string Id, ExampleKind Kind)> { ("a", ExampleKind.Legitimate), ("b", ExampleKind.Legitimate), ("c", ExampleKind.Negative) };
        var (held, kept) = ProbeSplit.Split(items, x => x.Kind, x => x.Id, x => x.Id, 0.01, seed: 1);
        Assert.Single(held, h => h.Kind == ExampleKind.Legitimate);
        Assert.Contains(kept, k => k.Id == "c");
        Assert.Empty(ProbeSplit.Split(items, x => x.Kind, x => x.Id, x => x.Id, 0, seed: 1).HeldOut);
    }

    [Fact]
    public void Split_ExamplesAskingOneQuestion_AreHeldOutTogetherAsOneProbe()
    {
        // Three examples of one instruction (different inputs) and a fourth asking it with other spacing and case.
        var items = Enumerable.Range(0, 40).SelectMany(q => Enumerable.Range(0, 3).Select(i => (Id: $"q{q:D2}-{i}", Question: $"Instruction {q}")))
            .Append((Id: "z-extra", Question: "  instruction   7 ")).ToList();
        var (held, kept) = ProbeSplit.Split(items, _ => ExampleKind.Legitimate, x => x.Id, x => x.Question, 0.2, seed: 2);
        Assert.NotEmpty(held);
        var heldQuestions = held.Select(h => ProbeSplit.Key(h.Question)).ToList();
        Assert.Equal(heldQuestions.Distinct().Count(), heldQuestions.Count);
        Assert.DoesNotContain(kept, k => heldQuestions.Contains(ProbeSplit.Key(k.Question)));
        Assert.Equal(items.Count, kept.Count + items.Count(i => heldQuestions.Contains(ProbeSplit.Key(i.Question))));
    }

    [Fact]
    public void ProbeFile_RoundTripsAndNamesTheLineAndFieldOfADefect()
    {
        var path = Path.Combine(_dir, "probes.jsonl");
        ProbeFile.Write(path, [new Probe("x1", ExampleKind.Refusal, "Price now?", "I can't say; see the shop.", null, "doc.md#2")]);
        var back = Assert.Single(ProbeFile.Read(path));
        Assert.Equal(("x1", ExampleKind.Refusal, "doc.md#2"), (back.Id, back.Kind, back.Origin));

        File.WriteAllLines(path, ["""{"question":"q","kind":"negative","reference":"r"}""", """{"question":"q","kind":"sarcasm","reference":"r"}"""]);
        var kind = Assert.Throws<UserErrorException>(() => ProbeFile.Read(path));
        Assert.Equal($"{path}:2: \"kind\" is 'sarcasm'; use legitimate, negative or refusal", kind.Message);
        File.WriteAllLines(path, ["""{"question":"q","kind":"legitimate"}"""]);
        Assert.Equal($"{path}:1: \"reference\" is missing or empty", Assert.Throws<UserErrorException>(() => ProbeFile.Read(path)).Message);
        File.WriteAllLines(path, ["""{"question":"q","kind":"legitimate","reference":"r","source":3}"""]);
        Assert.Equal($"{path}:1: \"source\" must be a string", Assert.Throws<UserErrorException>(() => ProbeFile.Read(path)).Message);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}

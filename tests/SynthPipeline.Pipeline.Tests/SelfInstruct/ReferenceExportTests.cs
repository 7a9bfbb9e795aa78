using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using SynthPipeline.Core.Novelty;
using SynthPipeline.Core.Options;
using SynthPipeline.Pipeline.SelfInstruct;
using SynthPipeline.Pipeline.Teacher;

namespace SynthPipeline.Pipeline.Tests.SelfInstruct;

/// <summary>The exports the reference tools read: alpaca_data.json, machine_generated_instructions.jsonl, seed tasks, a seeded order.</summary>
public sealed class ReferenceExportTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("synth-reference-export-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<string> RunAsync(string name, bool includeSeeds = false)
    {
        using var run = SelfInstructRun.Open(new GenerateOptions { Count = 10, Output = _dir, RunName = name, Seed = 5, RequestsInFlight = 2, IncludeSeedTasks = includeSeeds },
            new TeacherOptions(), null, TimeProvider.System);
        await run.RunAsync(new RunTeacher(SelfInstructRunTests.SelfInstructTeacher(), "scripted", false, t => t.Length / 4), NullLoggerFactory.Instance, CancellationToken.None);
        return Path.Combine(_dir, name);
    }

    [Fact]
    public async Task MachineGeneratedInstructions_TopTenAndAverage_EqualTheNaiveScoresAgainstEverythingBefore()
    {
        var folder = await RunAsync("similar");
        var seeds = SeedReader.Read(Path.Combine(AppContext.BaseDirectory, "seeds", "self-instruct-seeds.jsonl")).Select(t => t.Instruction).ToList();
        var records = File.ReadAllLines(Path.Combine(folder, "machine_generated_instructions.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.NotEmpty(records);

        // Accepted instructions in id order are the pool's order; each was compared with the seeds and those before it.
        using var store = State.RunStore.Open(folder);
        var accepted = store.Instructions().OrderBy(i => i.Id).Select(i => i.Text).ToList();
        foreach (var record in records)
        {
            var text = record.GetProperty("instruction").GetString()!;
            var earlier = seeds.Concat(accepted.TakeWhile(a => a != text)).ToList();
            var scores = earlier.Select(e => RougeL.ScoreNaive(text, e)).ToList();
            Assert.Equal(scores.Average(), record.GetProperty("avg_similarity_score").GetDouble(), 12);
            var top = record.GetProperty("most_similar_instructions").EnumerateObject().Select(p => p.Value.GetDouble()).ToList();
            Assert.Equal(Math.Min(10, earlier.Count), top.Count);
            Assert.Equal(scores.OrderByDescending(x => x).Take(10).ToList(), top, new ToleranceComparer());
            Assert.NotEmpty(record.GetProperty("instances").EnumerateArray());
        }
    }

    [Fact]
    public async Task AlpacaDataJson_IsTheTrainingSetAsOneArray_InASeededShuffledOrder()
    {
        var folder = await RunAsync("alpaca");
        var again = await RunAsync("alpaca-again");

        var array = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "alpaca_data.json"))).RootElement.EnumerateArray()
            .Select(e => (e.GetProperty("instruction").GetString()!, e.GetProperty("input").GetString()!, e.GetProperty("output").GetString()!)).ToList();
        var lines = File.ReadAllLines(Path.Combine(folder, "alpaca.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
            .Select(e => (e.GetProperty("instruction").GetString()!, e.GetProperty("input").GetString()!, e.GetProperty("output").GetString()!)).ToList();
        using var store = State.RunStore.Open(folder);
        var generationOrder = SelfInstructExporter.Examples(store).Select(e => (e.Instruction, e.Input, e.Output)).ToList();

        Assert.Equal(lines, array);
        Assert.Equal(generationOrder.Order(), array.Order());
        Assert.NotEqual(generationOrder, array);
        Assert.Equal(File.ReadAllBytes(Path.Combine(folder, "alpaca_data.json")), File.ReadAllBytes(Path.Combine(again, "alpaca_data.json")));
    }

    [Fact]
    public async Task IncludeSeedTasks_PutsEverySeedExampleIntoTheTrainingFiles()
    {
        var without = await RunAsync("plain");
        var with = await RunAsync("seeded", includeSeeds: true);
        var seedExamples = SeedReader.Read(Path.Combine(AppContext.BaseDirectory, "seeds", "self-instruct-seeds.jsonl")).Sum(t => t.Instances.Count);

        Assert.Equal(File.ReadAllLines(Path.Combine(without, "alpaca.jsonl")).Length + seedExamples, File.ReadAllLines(Path.Combine(with, "alpaca.jsonl")).Length);
        Assert.Contains("examples of the seed tasks", File.ReadAllText(Path.Combine(with, "README.md")), StringComparison.Ordinal);
    }

    private sealed class ToleranceComparer : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) < 1e-12;

        public int GetHashCode(double obj) => 0;
    }
}

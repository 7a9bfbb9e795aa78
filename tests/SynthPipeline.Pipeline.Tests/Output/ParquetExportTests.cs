using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Parquet;
using Parquet.Serialization;
using SynthPipeline.Core.Options;
using SynthPipeline.Pipeline.Augment;
using SynthPipeline.Pipeline.Output;
using SynthPipeline.Pipeline.SelfInstruct;
using SynthPipeline.Pipeline.Teacher;
using SynthPipeline.Pipeline.Tests.Augment;
using SynthPipeline.Pipeline.Tests.SelfInstruct;

namespace SynthPipeline.Pipeline.Tests.Output;

/// <summary>Parquet twins of the training files, DPO pairs and the Hugging Face card header, read back with Parquet.Net.</summary>
public sealed class ParquetExportTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("synth-parquet-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static List<JsonElement> Jsonl(string path) => [.. File.ReadAllLines(path).Select(l => JsonDocument.Parse(l).RootElement)];

    private static async Task<string[]> ColumnsAsync(string path)
    {
        await using var stream = File.OpenRead(path);
        await using var reader = await ParquetReader.CreateAsync(stream);
        return [.. reader.Schema.Fields.Select(f => f.Name)];
    }

    [Fact]
    public async Task Generate_ParquetTwins_HoldTheJsonlRowsUnderTheSameColumnNames_AndTheCardNamesThemAsConfigs()
    {
        using (var run = SelfInstructRun.Open(new GenerateOptions { Count = 6, Output = _dir, RunName = "g", Seed = 2, RequestsInFlight = 2 }, new TeacherOptions(), null, TimeProvider.System))
            await run.RunAsync(new RunTeacher(SelfInstructRunTests.SelfInstructTeacher(), "scripted", false, t => t.Length / 4), NullLoggerFactory.Instance, CancellationToken.None);
        var folder = Path.Combine(_dir, "g");

        await using var alpacaStream = File.OpenRead(Path.Combine(folder, "alpaca.parquet"));
        var alpaca = (await ParquetSerializer.DeserializeAsync<AlpacaRow>(alpacaStream)).Data;
        Assert.Equal(Jsonl(Path.Combine(folder, "alpaca.jsonl")).Select(e => (e.GetProperty("instruction").GetString()!, e.GetProperty("input").GetString()!, e.GetProperty("output").GetString()!)),
            alpaca.Select(r => (r.Instruction, r.Input, r.Output)));
        Assert.Equal(["instruction", "input", "output"], await ColumnsAsync(Path.Combine(folder, "alpaca.parquet")));
        Assert.Equal(["messages"], await ColumnsAsync(Path.Combine(folder, "openai-chat.parquet")));

        await using var chatStream = File.OpenRead(Path.Combine(folder, "openai-chat.parquet"));
        var chats = (await ParquetSerializer.DeserializeAsync<ChatRow>(chatStream)).Data;
        var expected = Jsonl(Path.Combine(folder, "openai-chat.jsonl"))
            .Select(e => string.Join("|", e.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("role").GetString() + ":" + m.GetProperty("content").GetString())));
        Assert.Equal(expected, chats.Select(c => string.Join("|", c.Messages.Select(m => m.Role + ":" + m.Content))));

        var card = File.ReadAllText(Path.Combine(folder, "README.md"));
        Assert.StartsWith("---\nlicense: other", card, StringComparison.Ordinal);
        Assert.Contains("- config_name: openai_chat\n  data_files: openai-chat.parquet\n  default: true", card, StringComparison.Ordinal);
        Assert.Contains("size_categories:\n- n<1K", card, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Augment_DpoPairs_FromNegatives_CorrectionChosenOverTheFlawedAnswer_InJsonlAndParquet()
    {
        var corpus = TestCorpus.Create(Path.Combine(_dir, "corpus"), problems: false);
        var options = new AugmentOptions { Corpus = corpus, ChunkTokens = 12, ChunkOverlapTokens = 3, Seed = 5, CorrectionShare = 1.0, ChunksInFlight = 3, Output = _dir, RunName = "a" };
        using (var run = AugmentRun.Open(options, new TeacherOptions(), null, TimeProvider.System))
            await run.RunAsync(new RunTeacher(ScriptedTeacher.Good(), "scripted", false, t => t.Split(' ').Length), NullLoggerFactory.Instance, CancellationToken.None);
        var folder = Path.Combine(_dir, "a");

        var pairs = Jsonl(Path.Combine(folder, "dpo.jsonl"));
        Assert.NotEmpty(pairs);
        using var store = State.RunStore.Open(folder);
        var kept = AugmentExporter.Deduplicate(store.Examples(), options.RougeThreshold).Kept;
        var negatives = kept.Where(e => e.Kind == Core.Augment.ExampleKind.Negative).ToList();
        var triples = pairs.Select(p => (Prompt: p.GetProperty("prompt").GetString()!, Chosen: p.GetProperty("chosen").GetString()!, Rejected: p.GetProperty("rejected").GetString()!)).ToList();
        Assert.Equal(negatives.Select(n => (n.Question, n.Answer, n.FlawedAnswer!)), triples.Take(negatives.Count));
        Assert.All(triples.Take(negatives.Count), p => Assert.StartsWith("No, actually", p.Chosen, StringComparison.Ordinal));
        // Then the judged-bad answers: a refusal the judges rejected, against the accepted refusal to the same question.
        var judged = triples.Skip(negatives.Count).ToList();
        Assert.NotEmpty(judged);
        Assert.All(judged, p => Assert.Contains(kept, e => e.Question == p.Prompt && e.Answer == p.Chosen && e.Kind != Core.Augment.ExampleKind.Negative));
        Assert.All(judged, p => Assert.NotEqual(p.Chosen, p.Rejected));
        await using var stream = File.OpenRead(Path.Combine(folder, "dpo.parquet"));
        var rows = (await ParquetSerializer.DeserializeAsync<DpoRow>(stream)).Data;
        Assert.Equal(pairs.Select(p => p.GetProperty("rejected").GetString()), rows.Select(r => r.Rejected));
        Assert.Equal(["prompt", "chosen", "rejected"], await ColumnsAsync(Path.Combine(folder, "dpo.parquet")));
        // The flawed turn of a correction conversation stays marked as not trained on.
        await using var chatStream = File.OpenRead(Path.Combine(folder, "openai-chat.parquet"));
        var chats = (await ParquetSerializer.DeserializeAsync<ChatRow>(chatStream)).Data;
        Assert.Contains(chats, c => c.Messages.Any(m => m.Trainable == false));
    }

    [Fact]
    public async Task Augment_HoldOut_ProbesCarryTheirPassage_AndNoTrainingFileHoldsTheirQuestions()
    {
        var corpus = TestCorpus.Create(Path.Combine(_dir, "corpus"), problems: false);
        var options = new AugmentOptions { Corpus = corpus, ChunkTokens = 12, ChunkOverlapTokens = 3, Seed = 5, ChunksInFlight = 3, Output = _dir, RunName = "h", HoldOut = 0.5 };
        // The good teacher asks the same question of every chunk; here each chunk gets its own, so there are questions to hold out.
        var good = ScriptedTeacher.Good();
        var teacher = new ScriptedTeacher(prompt => prompt.Contains("You are writing study questions", StringComparison.Ordinal)
            ? good.Answer(prompt).Replace("What rises twice a day?", $"Why {string.Join(' ', Passage(prompt).Split(' ', StringSplitOptions.RemoveEmptyEntries).TakeLast(6))}?", StringComparison.Ordinal)
            : good.Answer(prompt));
        static string Passage(string prompt)
        {
            var start = prompt.IndexOf("\"\"\"", StringComparison.Ordinal) + 3;
            return prompt[start..prompt.IndexOf("\"\"\"", start, StringComparison.Ordinal)].Replace('\n', ' ');
        }
        using (var run = AugmentRun.Open(options, new TeacherOptions(), null, TimeProvider.System))
            await run.RunAsync(new RunTeacher(teacher, "scripted", false, t => t.Split(' ').Length), NullLoggerFactory.Instance, CancellationToken.None);
        var folder = Path.Combine(_dir, "h");

        var probes = Core.Eval.ProbeFile.Read(Path.Combine(folder, Core.Eval.ProbeFile.FileName));
        Assert.Contains(probes, p => p.Kind == Core.Augment.ExampleKind.Legitimate);
        // A grounded probe carries the passage it was written from (the cleaned document's span), so the judge can check against it.
        var sources = Directory.GetFiles(Path.Combine(folder, CorpusIngest.SourcesFolder), "*.txt", SearchOption.AllDirectories).Select(File.ReadAllText).ToList();
        Assert.All(probes.Where(p => p.Kind != Core.Augment.ExampleKind.Refusal), p => Assert.Contains(sources, text => p.Source is { Length: > 0 } s && text.Contains(s, StringComparison.Ordinal)));
        Assert.All(probes.Where(p => p.Kind == Core.Augment.ExampleKind.Refusal), p => Assert.Null(p.Source));
        var training = string.Concat(new[] { "openai-chat.jsonl", "sharegpt.jsonl", "alpaca.jsonl", "dpo.jsonl" }.Select(f => File.ReadAllText(Path.Combine(folder, f))));
        Assert.All(probes, p => Assert.DoesNotContain(JsonSerializer.Serialize(p.Question), training, StringComparison.Ordinal));
    }
}

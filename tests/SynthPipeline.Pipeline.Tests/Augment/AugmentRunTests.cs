using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using SynthPipeline.Core.Augment;
using SynthPipeline.Core.Options;
using SynthPipeline.Pipeline.Augment;
using SynthPipeline.Pipeline.Teacher;
using SynthPipeline.Pipeline.State;

namespace SynthPipeline.Pipeline.Tests.Augment;

public sealed class AugmentRunTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("synth-augment-run-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static int Words(string s) => s.Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries).Length;

    private AugmentOptions Options(string corpus) => new()
    {
        Corpus = corpus, ChunkTokens = 12, ChunkOverlapTokens = 3, Seed = 5, CorrectionShare = 1.0, SystemPromptShare = 1.0, ChunksInFlight = 3,
    };

    /// <summary>
    /// Runs augment in-process with a scripted teacher in <paramref name="folder"/>: a new run, or the run already there
    /// resumed. The tiny chunks these tests use are below what <see cref="AugmentRun.CheckNew"/> allows users, so it is not called.
    /// </summary>
    private static async Task<AugmentProgress> RunAsync(string folder, AugmentOptions options, ScriptedTeacher teacher, CancellationToken cancellationToken = default)
    {
        options.Output = Path.GetDirectoryName(folder)!;
        options.RunName = Path.GetFileName(folder);
        var resume = File.Exists(Path.Combine(folder, RunStore.FileName)) ? folder : null;
        using var run = AugmentRun.Open(options, new TeacherOptions(), resume, TimeProvider.System);
        var outcome = await run.RunAsync(new RunTeacher(teacher, "scripted", false, Words), NullLoggerFactory.Instance, cancellationToken);
        cancellationToken.ThrowIfCancellationRequested();
        Assert.False(outcome.Cancelled);
        return run.Progress;
    }

    [Fact]
    public async Task Run_ProblemFileFixedBeforeAResume_IsTakenInAndAMissingFileIsReported()
    {
        var corpus = TestCorpus.Create(Path.Combine(_dir, "corpus"), problems: false);
        File.WriteAllBytes(Path.Combine(corpus, "latin1.txt"), System.Text.Encoding.Latin1.GetBytes("Caf\u00e9 by the harbour. It opens at six."));
        var run = Path.Combine(_dir, "run");
        Directory.CreateDirectory(run);
        var first = await RunAsync(run, Options(corpus), ScriptedTeacher.Good());
        Assert.Equal("not_utf8", Assert.Single(first.Problems).Reason);

        File.WriteAllText(Path.Combine(corpus, "latin1.txt"), "Caf\u00e9 by the harbour. It opens at six.");
        var second = await RunAsync(run, Options(corpus), ScriptedTeacher.Good());
        Assert.Empty(second.Problems);
        using (var store = RunStore.Open(run))
        {
            Assert.Equal(DocumentStatus.Ok, store.Documents().Single(d => d.File == "latin1.txt").Status);
            Assert.Contains(store.Examples(), e => e.File == "latin1.txt");
            Assert.All(store.Chunks(), c => Assert.Equal(ChunkStatus.Done, c.Status));
        }

        // A document with chunks still to do that disappears before a resume is named, not silently skipped.
        using (var store = RunStore.Open(run))
            store.SaveDocument(new StoredDocument("gone.md", DocumentStatus.Ok, null, null, 10, 1, 1, "x"), [new StoredChunk("gone.md", 0, 0, 10, 3, ChunkStatus.Pending)]);
        var third = await RunAsync(run, Options(corpus), ScriptedTeacher.Good());
        var missing = Assert.Single(third.Problems);
        Assert.Equal("missing_since_start", missing.Reason);
        Assert.Contains("1 remaining chunks were not done", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_Corpus_EveryExampleCarriesTheSpanOfTheChunkTheTeacherSaw()
    {
        var corpus = TestCorpus.Create(Path.Combine(_dir, "corpus"), problems: false);
        var run = Path.Combine(_dir, "run");
        Directory.CreateDirectory(run);
        var teacher = ScriptedTeacher.Good();
        await RunAsync(run, Options(corpus), teacher);

        using var store = RunStore.Open(run);
        var examples = store.Examples();
        Assert.Equal(["good.html", "good.pdf", "good.txt", "sub/good.md"], examples.Select(e => e.File).Distinct().Order(StringComparer.Ordinal));
        Assert.Contains(store.Chunks(), c => c.File == "good.txt" && c.Index > 0);
        Assert.All(store.Chunks(), c => Assert.Equal(ChunkStatus.Done, c.Status));
        foreach (var e in examples)
        {
            var source = File.ReadAllText(Path.Combine(run, CorpusIngest.SourcesFolder, e.File + ".txt"));
            var chunk = store.Chunks().Single(c => c.File == e.File && c.Index == e.Chunk);
            Assert.Equal((chunk.Start, chunk.End), (e.SpanStart, e.SpanEnd));
            var slice = source[e.SpanStart..e.SpanEnd];
            Assert.True(Words(slice) <= 12, $"{e.Id}: {Words(slice)} words");
            // The teacher was shown exactly that span of the cleaned document.
            Assert.True(teacher.Prompts.Any(p => p.Contains("\"\"\"\n" + slice + "\n\"\"\"", StringComparison.Ordinal)), $"{e.Id}: no prompt shows [{slice}]");
        }
        Assert.Equal(TestCorpus.Tides, File.ReadAllText(Path.Combine(run, CorpusIngest.SourcesFolder, "good.txt.txt")));
    }

    [Fact]
    public async Task Run_CancelledPartWayThenResumed_SameExamplesAndRejectionsAsAnUninterruptedRunWithNoDuplicates()
    {
        var corpus = TestCorpus.Create(Path.Combine(_dir, "corpus"), problems: false);
        var whole = Path.Combine(_dir, "whole");
        var broken = Path.Combine(_dir, "broken");
        Directory.CreateDirectory(whole);
        Directory.CreateDirectory(broken);
        await RunAsync(whole, Options(corpus), ScriptedTeacher.Good());

        using var stop = new CancellationTokenSource();
        var good = ScriptedTeacher.Good();
        var calls = 0;
        var stopping = new ScriptedTeacher(p =>
        {
            if (Interlocked.Increment(ref calls) == 25) stop.Cancel();
            return good.Answer(p);
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => RunAsync(broken, Options(corpus), stopping, stop.Token));
        using (var partial = RunStore.Open(broken))
            Assert.Contains(partial.Chunks(), c => c.Status == ChunkStatus.Pending);
        var resumed = ScriptedTeacher.Good();
        await RunAsync(broken, Options(corpus), resumed);

        using var a = RunStore.Open(whole);
        using var b = RunStore.Open(broken);
        Assert.Equal(a.Examples(), b.Examples());
        static string Key(StoredRejection r) => $"{r.Stage}|{r.Reason}|{r.Source}|{r.Text}";
        Assert.Equal(a.Rejections().Select(Key).Order(StringComparer.Ordinal), b.Rejections().Select(Key).Order(StringComparer.Ordinal));
        Assert.True(resumed.Prompts.Count < ScriptedTeacher.Good().Prompts.Count + a.RequestTotals().Requests, "the resumed run asked everything again");
    }

    [Fact]
    public void Deduplicate_NearCopiesWithinAKind_LaterOnesDroppedNamingTheEarlierAndOtherKindsUntouched()
    {
        StoredExample E(string id, ExampleKind kind, string question) => new(id, kind, "f.md", 0, 0, 10, question, "a", null, null, "");
        var examples = new[]
        {
            E("a", ExampleKind.Legitimate, "What pulls the tides twice a day?"), E("b", ExampleKind.Legitimate, "What pulls the tides twice every day?"),
            E("c", ExampleKind.Legitimate, "When was the lighthouse first lit?"), E("d", ExampleKind.Refusal, "What pulls the tides twice a day?"),
        };
        var (kept, dropped) = AugmentExporter.Deduplicate(examples, 0.7);
        Assert.Equal(["a", "c", "d"], kept.Select(e => e.Id));
        var d = Assert.Single(dropped);
        Assert.Equal(("legitimate", "near_duplicate", "What pulls the tides twice every day?"), (d.Stage, d.Reason, d.Text));
        Assert.StartsWith("ROUGE-L 0.", d.Detail, StringComparison.Ordinal);
        Assert.Contains("with a: What pulls the tides twice a day?", d.Detail, StringComparison.Ordinal);
        Assert.Equal(4, AugmentExporter.Deduplicate(examples, 1.0).Kept.Count);
    }

    [Fact]
    public async Task Export_CorrectionShareOne_FlawedTurnNotTrainableFollowedByAnObjectionAndTheTrainableCorrection()
    {
        var corpus = TestCorpus.Create(Path.Combine(_dir, "corpus"), problems: false);
        var run = Path.Combine(_dir, "run");
        Directory.CreateDirectory(run);
        var options = Options(corpus);
        await RunAsync(run, options, ScriptedTeacher.Good());
        using var store = RunStore.Open(run);
        await AugmentExporter.ExportAsync(store, AugmentExporter.Deduplicate(store.Examples(), options.RougeThreshold), run, new AugmentDescription("run", corpus, null, "scripted", false, new Dictionary<string, string>()), options, "SYSTEM");

        var lines = File.ReadAllLines(Path.Combine(run, "openai-chat.jsonl"));
        var negatives = 0;
        foreach (var line in lines)
        {
            using var doc = JsonDocument.Parse(line);
            var messages = doc.RootElement.GetProperty("messages").EnumerateArray().ToList();
            var kinds = doc.RootElement.GetProperty("kinds").EnumerateArray().Select(k => k.GetString()).ToList();
            Assert.Equal(("system", "SYSTEM"), (messages[0].GetProperty("role").GetString(), messages[0].GetProperty("content").GetString()));
            var at = 1;
            foreach (var kind in kinds)
            {
                Assert.Equal("user", messages[at++].GetProperty("role").GetString());
                if (kind == "negative")
                {
                    negatives++;
                    Assert.False(messages[at].GetProperty("trainable").GetBoolean());
                    Assert.Equal("Because the Moon passes once.", messages[at++].GetProperty("content").GetString());
                    Assert.Contains(messages[at++].GetProperty("content").GetString(), AugmentExporter.Objections);
                }
                Assert.True(messages[at].GetProperty("trainable").GetBoolean());
                Assert.Equal("assistant", messages[at++].GetProperty("role").GetString());
            }
            Assert.Equal(messages.Count, at);
        }
        // Every chunk's scripted negative asks the same question: one is kept, the rest are near-duplicates.
        Assert.Equal(1, negatives);
        Assert.True(store.Examples().Count(e => e.Kind == ExampleKind.Negative) > 1);
        Assert.Contains(File.ReadAllLines(Path.Combine(run, "rejected.jsonl")), l => l.Contains("\"near_duplicate\"", StringComparison.Ordinal));
        using var stats = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "stats.json")));
        Assert.Equal(negatives, stats.RootElement.GetProperty("conversations").GetProperty("untrained_assistant_turns").GetInt32());
    }
}

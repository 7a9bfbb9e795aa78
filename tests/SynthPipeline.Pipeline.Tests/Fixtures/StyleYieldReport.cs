using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using SynthPipeline.Core.Options;
using SynthPipeline.Pipeline.Augment;
using SynthPipeline.Pipeline.SelfInstruct;
using SynthPipeline.Pipeline.State;
using SynthPipeline.Pipeline.Teacher;
using SynthPipeline.Pipeline.Tests.Augment;

namespace SynthPipeline.Pipeline.Tests.Fixtures;

/// <summary>
/// Per teacher style and prompt kind: answers, what was kept, leaks (text a style added that reached a record; the bar
/// is 0) and why things were dropped. Asserts zero leaks; with <c>SYNTH_STYLE_REPORT</c> set to a path it also writes
/// the table there (<c>bench/teacher-styles.sh</c>).
/// </summary>
public sealed class StyleYieldReport : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("synth-style-report-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task EveryStyle_EveryPromptKind_NoLeaks_AndTheTableOfYieldsAndReasons()
    {
        var table = new StringBuilder("| style | prompt kind | answers | generated | kept | yield | leaks | dropped, by reason |\n|---|---|---|---|---|---|---|---|\n");
        foreach (var style in Enum.GetValues<TeacherStyle>())
        {
            var teacher = new RunTeacher(new ScriptedTeacher(p => TeacherStyles.Answer(style, p)), style.ToString(), false, t => t.Split(' ').Length);
            var generate = Path.Combine(_dir, "g-" + style);
            using (var run = SelfInstructRun.Open(new GenerateOptions { Count = 60, Output = _dir, RunName = "g-" + style, Seed = 9, RequestsInFlight = 4 }, new TeacherOptions(), null, TimeProvider.System))
                await run.RunAsync(teacher, NullLoggerFactory.Instance, CancellationToken.None);
            var corpus = TestCorpus.Create(Path.Combine(_dir, "corpus-" + style), problems: false);
            using (var run = AugmentRun.Open(new AugmentOptions { Corpus = corpus, ChunkTokens = 12, ChunkOverlapTokens = 3, Seed = 5, ChunksInFlight = 3, Output = _dir, RunName = "a-" + style },
                       new TeacherOptions(), null, TimeProvider.System))
                await run.RunAsync(teacher, NullLoggerFactory.Instance, CancellationToken.None);

            using var g = RunStore.Open(generate);
            var rejections = g.Rejections();
            var instructions = g.Instructions();
            var instances = g.Instances();
            var requests = RequestCounts(g);
            var leaks = Leaks(instructions.Select(i => i.Text).Concat(instances.SelectMany(x => new[] { x.Input, x.Output })));
            var items = instructions.Count + rejections.Count(r => r.Stage is "filter" or "novelty");
            Row(table, style, "instruction list", requests.GetValueOrDefault("instruction"), items, instructions.Count, leaks.Instructions,
                rejections.Where(r => r.Stage is "parse" or "filter" or "novelty"));
            Row(table, style, "is-classification", requests.GetValueOrDefault("classify"), instructions.Count(i => i.IsClassification is not null),
                instructions.Count(i => i.IsClassification == true), 0, rejections.Where(r => r.Stage == "classify"), keptLabel: "yes");
            var examplesParsed = instances.Count + rejections.Count(r => r.Stage == "instances" && r.Reason is not ("preamble" or "closing_remark" or "cut_by_token_limit"));
            Row(table, style, "instances (both orders)", requests.GetValueOrDefault("instances-input-first") + requests.GetValueOrDefault("instances-output-first"),
                examplesParsed, instances.Count, leaks.Instances, rejections.Where(r => r.Stage == "instances"));

            using var a = RunStore.Open(Path.Combine(_dir, "a-" + style));
            var examples = a.Examples();
            var augmentRejections = a.Rejections();
            var augmentRequests = RequestCounts(a);
            var exampleLeaks = Leaks(examples.SelectMany(e => new[] { e.Question, e.Answer, e.FlawedAnswer ?? "" }));
            using var stats = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir, "a-" + style, "stats.json")));
            foreach (var (kind, templates) in new[] { ("legitimate", "augment-questions"), ("negative", "augment-negative"), ("refusal", "augment-refusal") })
            {
                var v = stats.RootElement.GetProperty("variants").GetProperty(kind);
                Row(table, style, $"augment {kind}", augmentRequests.GetValueOrDefault(templates), v.GetProperty("generated").GetInt32(), v.GetProperty("accepted").GetInt32(),
                    kind == "legitimate" ? exampleLeaks.Instructions : 0, augmentRejections.Where(r => r.Stage == kind || (kind == "legitimate" && r.Stage == GroundedQuestionStage.AnswerTextStage)));
            }
            Assert.Equal(0, leaks.Instructions + leaks.Instances + exampleLeaks.Instructions + exampleLeaks.Instances);
        }
        if (Environment.GetEnvironmentVariable("SYNTH_STYLE_REPORT") is { Length: > 0 } path) await File.WriteAllTextAsync(path, table.ToString());
    }

    private static Dictionary<string, int> RequestCounts(RunStore store) =>
        store.UsageTotals().GroupBy(t => t.Stage).ToDictionary(g => g.Key, g => (int)g.Sum(t => t.Requests));

    private static (int Instructions, int Instances) Leaks(IEnumerable<string> texts)
    {
        var n = texts.Count(t => TeacherStyles.Chatter.Any(c => t.Contains(c, StringComparison.Ordinal)));
        return (n, 0);
    }

    private static void Row(StringBuilder table, TeacherStyle style, string kind, int answers, int generated, int kept, int leaks, IEnumerable<StoredRejection> dropped,
        string keptLabel = "")
    {
        var reasons = dropped.GroupBy(r => r.Reason).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} {g.Count()}");
        var yield = generated == 0 ? "-" : (kept / (double)generated).ToString("0.00", CultureInfo.InvariantCulture);
        table.Append(CultureInfo.InvariantCulture, $"| {style} | {kind} | {answers} | {generated} | {kept}{(keptLabel.Length > 0 ? " " + keptLabel : "")} | {yield} | {leaks} | {string.Join(", ", reasons)} |\n");
    }
}

using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using SynthPipeline.Core.Options;
using SynthPipeline.Pipeline.Augment;
using SynthPipeline.Pipeline.SelfInstruct;
using SynthPipeline.Pipeline.State;
using SynthPipeline.Pipeline.Teacher;
using SynthPipeline.Pipeline.Tests.Augment;
using SynthPipeline.Pipeline.Tests.Teacher;

namespace SynthPipeline.Pipeline.Tests.Fixtures;

/// <summary>
/// Generate and augment driven by answers in the shapes of real chat-model families, in-process and over an
/// OpenAI-compatible server on loopback: no preamble, closing offer or markup reaches a record, and what was left out
/// is in rejected.jsonl with its reason.
/// </summary>
public sealed class StyledTeacherRunTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("synth-styles-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly string[] ChatterReasons = ["preamble", "closing_remark", "not_an_instruction", "refusal"];

    private async Task<string> GenerateAsync(string name, RunTeacher teacher, TeacherOptions? options = null)
    {
        using var run = SelfInstructRun.Open(new GenerateOptions { Count = 10, Output = _dir, RunName = name, Seed = 5, RequestsInFlight = 3 }, options ?? new TeacherOptions(), null, TimeProvider.System);
        var outcome = await run.RunAsync(teacher, NullLoggerFactory.Instance, CancellationToken.None);
        Assert.False(outcome.Cancelled);
        return Path.Combine(_dir, name);
    }

    private async Task<string> AugmentAsync(string name, RunTeacher teacher)
    {
        var corpus = TestCorpus.Create(Path.Combine(_dir, name + "-corpus"), problems: false);
        var options = new AugmentOptions { Corpus = corpus, ChunkTokens = 12, ChunkOverlapTokens = 3, Seed = 5, CorrectionShare = 1.0, SystemPromptShare = 1.0, ChunksInFlight = 3, Output = _dir, RunName = name };
        using var run = AugmentRun.Open(options, new TeacherOptions(), null, TimeProvider.System);
        Assert.False((await run.RunAsync(teacher, NullLoggerFactory.Instance, CancellationToken.None)).Cancelled);
        return Path.Combine(_dir, name);
    }

    private static RunTeacher Scripted(TeacherStyle style) =>
        new(new ScriptedTeacher(p => TeacherStyles.Answer(style, p)), $"{style} fixture", false, t => t.Split(' ').Length);

    private static void AssertNoChatter(IEnumerable<string> texts, string where)
    {
        foreach (var text in texts)
            foreach (var chatter in TeacherStyles.Chatter)
                Assert.False(text.Contains(chatter, StringComparison.Ordinal), $"{where}: '{chatter}' leaked into \"{text}\"");
    }

    private static IEnumerable<string> GenerateRecords(string folder) =>
        File.ReadAllLines(Path.Combine(folder, "alpaca.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
            .SelectMany(e => new[] { e.GetProperty("instruction").GetString()!, e.GetProperty("input").GetString()!, e.GetProperty("output").GetString()! });

    private static List<(string Stage, string Reason)> Rejections(string folder) =>
        [.. File.ReadAllLines(Path.Combine(folder, "rejected.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
            .Select(e => (e.GetProperty("stage").GetString()!, e.GetProperty("reason").GetString()!))];

    [Theory]
    [InlineData(TeacherStyle.Completion)]
    [InlineData(TeacherStyle.Gpt)]
    [InlineData(TeacherStyle.Llama)]
    [InlineData(TeacherStyle.Mistral)]
    [InlineData(TeacherStyle.Qwen)]
    public async Task Generate_StyledTeacher_ReachesTheTargetWithCleanRecordsAndEveryDropExplained(TeacherStyle style)
    {
        var folder = await GenerateAsync("generate-" + style, Scripted(style));

        using var stats = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "stats.json")));
        Assert.Equal(10, stats.RootElement.GetProperty("instructions_accepted").GetInt32());
        var records = GenerateRecords(folder).ToList();
        Assert.NotEmpty(records);
        AssertNoChatter(records, style.ToString());
        Assert.DoesNotContain(records, r => System.Text.RegularExpressions.Regex.IsMatch(r, @"^\s*\d+[.)]\s"));
        var rejections = Rejections(folder);
        Assert.All(rejections, r => Assert.False(string.IsNullOrEmpty(r.Reason)));
        if (style != TeacherStyle.Completion && style != TeacherStyle.Mistral)
            Assert.Contains(rejections, r => ChatterReasons.Contains(r.Reason));
        // Styled classification answers are read: some tasks are classification, and their output-first examples kept.
        Assert.True(stats.RootElement.GetProperty("instructions_classification").GetInt32() > 0);
    }

    [Theory]
    [InlineData(TeacherStyle.Completion)]
    [InlineData(TeacherStyle.Gpt)]
    [InlineData(TeacherStyle.Llama)]
    [InlineData(TeacherStyle.Mistral)]
    [InlineData(TeacherStyle.Qwen)]
    public async Task Augment_StyledTeacher_SameExamplesAsThePlainTeacherWithNothingAround(TeacherStyle style)
    {
        var plain = await AugmentAsync("plain-" + style, new RunTeacher(ScriptedTeacher.Good(), "plain", false, t => t.Split(' ').Length));
        var styled = await AugmentAsync("augment-" + style, Scripted(style));

        using var plainStore = RunStore.Open(plain);
        using var styledStore = RunStore.Open(styled);
        var expected = plainStore.Examples().Select(e => (e.Id, e.Question, e.Answer)).OrderBy(e => e.Id).ToList();
        var actual = styledStore.Examples().Select(e => (e.Id, e.Question, e.Answer)).OrderBy(e => e.Id).ToList();
        Assert.Equal(expected, actual);
        AssertNoChatter(actual.SelectMany(e => new[] { e.Question, e.Answer }), style.ToString());
        if (style is TeacherStyle.Gpt or TeacherStyle.Llama or TeacherStyle.Qwen)
            Assert.Contains(Rejections(styled), r => r.Stage == GroundedQuestionStage.AnswerTextStage && ChatterReasons.Contains(r.Reason));
    }

    [Theory]
    [InlineData(TeacherStyle.Gpt)]
    [InlineData(TeacherStyle.Llama)]
    public async Task Generate_StyledTeacherOverLoopbackHttp_SameDatasetAsInProcess(TeacherStyle style)
    {
        var inProcess = await GenerateAsync("in-process-" + style, Scripted(style));
        await using var server = await FakeOpenAiServer.StartAsync(p => TeacherStyles.Answer(style, p));
        var options = new TeacherOptions { Endpoints = [new TeacherEndpointOptions { Url = server.Url, Model = server.Model, MaxConcurrent = 4 }] };
        using var remote = RemoteTeacher.Create(options.Validate(), NullLoggerFactory.Instance, TimeProvider.System);

        var overHttp = await GenerateAsync("http-" + style, remote.Teacher, options);

        foreach (var file in new[] { "alpaca.jsonl", "alpaca_data.json", "review.csv" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(inProcess, file)), File.ReadAllBytes(Path.Combine(overHttp, file)));
        AssertNoChatter(GenerateRecords(overHttp), style + " over HTTP");
    }

    [Fact]
    public async Task Augment_StyledTeacherOverLoopbackHttp_SameExamplesAsInProcess()
    {
        var inProcess = await AugmentAsync("augment-in-process", Scripted(TeacherStyle.Llama));
        await using var server = await FakeOpenAiServer.StartAsync(p => TeacherStyles.Answer(TeacherStyle.Llama, p));
        var options = new TeacherOptions { Endpoints = [new TeacherEndpointOptions { Url = server.Url, Model = server.Model, MaxConcurrent = 4 }] };
        using var remote = RemoteTeacher.Create(options.Validate(), NullLoggerFactory.Instance, TimeProvider.System);

        var overHttp = await AugmentAsync("augment-http", remote.Teacher with { CountTokens = t => t.Split(' ').Length });

        using var a = RunStore.Open(inProcess);
        using var b = RunStore.Open(overHttp);
        Assert.Equal(a.Examples().Select(e => (e.Id, e.Question, e.Answer)).OrderBy(e => e.Id), b.Examples().Select(e => (e.Id, e.Question, e.Answer)).OrderBy(e => e.Id));
        Assert.NotEmpty(b.Examples());
        AssertNoChatter(b.Examples().SelectMany(e => new[] { e.Question, e.Answer }), "Llama over HTTP");
        Assert.True(server.Answered > 0);
    }
}

using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;
using SynthPipeline.Core.Options;
using SynthPipeline.Pipeline.SelfInstruct;
using SynthPipeline.Pipeline.State;
using SynthPipeline.Pipeline.Teacher;
using SynthPipeline.Pipeline.Tests.SelfInstruct;

namespace SynthPipeline.Pipeline.Tests.Teacher;

/// <summary>Roles, completion mode, accounting and prefix affinity against OpenAI-compatible servers on loopback.</summary>
public sealed class FleetTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("synth-fleet-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static TeacherEndpointOptions Endpoint(FakeOpenAiServer server, string? name = null) =>
        new() { Url = server.Url, Model = server.Model, MaxConcurrent = 4, Name = name };

    private async Task<(RunOutcome Outcome, string Folder)> GenerateAsync(string name, TeacherOptions teacher)
    {
        teacher.Validate();
        using var session = await TeacherSession.OpenAsync(teacher, NullLoggerFactory.Instance, _ => { }, CancellationToken.None);
        using var run = SelfInstructRun.Open(new GenerateOptions { Count = 8, Output = _dir, RunName = name, Seed = 3, RequestsInFlight = 4 }, teacher, null, TimeProvider.System);
        return (await run.RunAsync(session.Teacher, NullLoggerFactory.Instance, CancellationToken.None), Path.Combine(_dir, name));
    }

    [Fact]
    public async Task Roles_ClassifyOnASmallEndpoint_OnlyClassificationPromptsReachIt_AndTheCardNamesEachRole()
    {
        var script = SelfInstructRunTests.SelfInstructTeacher();
        await using var big = await FakeOpenAiServer.StartAsync(script.Answer, model: "big-model");
        await using var small = await FakeOpenAiServer.StartAsync(script.Answer, model: "small-model");
        var teacher = new TeacherOptions { Endpoints = [Endpoint(big, "big"), Endpoint(small, "small")], Roles = { [TeacherRole.Classify] = "small", [TeacherRole.Generate] = "big" } };

        var (outcome, folder) = await GenerateAsync("roles", teacher);

        Assert.False(outcome.Cancelled);
        Assert.NotEmpty(small.Prompts);
        Assert.All(small.Prompts, p => Assert.StartsWith("Can the following task be regarded as a classification task", p.Prompt, StringComparison.Ordinal));
        Assert.DoesNotContain(big.Prompts, p => p.Prompt.StartsWith("Can the following task", StringComparison.Ordinal));
        var card = File.ReadAllText(Path.Combine(folder, "README.md"));
        Assert.Contains("generate: OpenAI-compatible endpoints: big-model at", card, StringComparison.Ordinal);
        Assert.Contains("classify: OpenAI-compatible endpoints: small-model at", card, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Accounting_TokensCachedTokensAndCost_PerStageRoleAndEndpoint_InStatsCardAndSummary()
    {
        var script = SelfInstructRunTests.SelfInstructTeacher();
        await using var server = await FakeOpenAiServer.StartAsync(script.Answer);
        server.CachedTokens = 10;
        var endpoint = Endpoint(server, "gpu-a");
        endpoint.PricePerMillionInput = 2;
        endpoint.PricePerMillionCachedInput = 1;
        endpoint.PricePerMillionOutput = 8;

        var (outcome, folder) = await GenerateAsync("usage", new TeacherOptions { Endpoints = [endpoint] });

        IReadOnlyList<UsageTotal> totals;
        using (var store = RunStore.Open(folder)) totals = store.UsageTotals();
        using var stats = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "stats.json")));
        var usage = stats.RootElement.GetProperty("teacher_usage");
        var answered = server.Prompts.Count;
        Assert.Equal(answered, usage.GetProperty("requests").GetInt64());
        var input = server.Prompts.Sum(p => (long)(p.Prompt.Length / 4));
        var cached = server.Prompts.Sum(p => (long)Math.Min(10, p.Prompt.Length / 4));
        Assert.Equal(input, usage.GetProperty("prompt_tokens").GetInt64());
        Assert.Equal(cached, usage.GetProperty("cached_tokens").GetInt64());
        var output = usage.GetProperty("completion_tokens").GetInt64();
        Assert.True(output > 0);
        Assert.Equal(((input - cached) * 2 + cached * 1 + output * 8) / 1e6, usage.GetProperty("cost").GetDouble(), 9);
        Assert.Equal(answered, usage.GetProperty("by_endpoint").GetProperty("gpu-a").GetProperty("requests").GetInt64());
        Assert.All(server.Bodies, b => Assert.DoesNotContain(TeacherRequests.KindKey, b, StringComparison.Ordinal));
        Assert.True(usage.GetProperty("by_role").GetProperty("classify").GetProperty("requests").GetInt64() > 0);
        Assert.True(usage.GetProperty("by_stage").GetProperty("instruction").GetProperty("requests").GetInt64() > 0);
        Assert.Equal(totals.Sum(t => t.Requests), answered);
        Assert.Contains("## Teacher usage", File.ReadAllText(Path.Combine(folder, "README.md")), StringComparison.Ordinal);
        Assert.Contains($"{answered:N0} answers", outcome.Summary, StringComparison.Ordinal);
        Assert.Contains("cost 0.", outcome.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CompletionMode_SendsTheRawPromptToCompletions_AndTheRunFinishes()
    {
        var script = SelfInstructRunTests.SelfInstructTeacher();
        await using var server = await FakeOpenAiServer.StartAsync(script.Answer);

        var (outcome, folder) = await GenerateAsync("completion", new TeacherOptions { Endpoints = [Endpoint(server)], Mode = TeacherMode.Completion });

        Assert.False(outcome.Cancelled);
        Assert.NotEmpty(server.Prompts);
        Assert.All(server.Prompts, p => Assert.Equal("completions", p.Route));
        // The request kind travels to the middleware only, never to a server.
        Assert.All(server.Bodies, b => Assert.DoesNotContain(TeacherRequests.KindKey, b, StringComparison.Ordinal));
        Assert.Contains(server.Prompts, p => p.Prompt.StartsWith("Come up with a series of tasks:\n1. ", StringComparison.Ordinal));
        Assert.Contains("completion mode", File.ReadAllText(Path.Combine(folder, "README.md")), StringComparison.Ordinal);
        Assert.Equal(8, JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "stats.json"))).RootElement.GetProperty("instructions_accepted").GetInt32());
    }

    [Fact]
    public async Task Router_SharedLongPrefix_GoesToTheEndpointThatServedItWhileItHasRoom()
    {
        await using var first = await FakeOpenAiServer.StartAsync(_ => "answer");
        await using var second = await FakeOpenAiServer.StartAsync(_ => "answer");
        var release = new TaskCompletionSource();
        first.Hold = prompt => prompt.StartsWith("slow", StringComparison.Ordinal) ? release.Task : Task.CompletedTask;
        var options = new TeacherOptions { Endpoints = [Endpoint(first), Endpoint(second)] };
        options.Endpoints[0].MaxConcurrent = 1;
        using var remote = RemoteTeacher.Create(options.Validate(), NullLoggerFactory.Instance, TimeProvider.System);
        var router = remote.Router;
        var document = string.Concat(Enumerable.Repeat("A long shared source passage about lighthouses. ", 30));
        Task<ChatResponse> Ask(string prompt) => router.GetResponseAsync([new ChatMessage(ChatRole.User, prompt)]);

        // The first endpoint is busy with a held request, so the document's first prompt goes to the second.
        var slow = Ask("slow");
        while (first.Requests == 0) await Task.Delay(5);
        var opening = await Ask(document + " Question prompt.");
        release.SetResult();
        await slow;

        // Both are idle now; without affinity every request would go to the first (fewest outstanding, then order).
        for (var i = 0; i < 5; i++) await Ask(document + $" Judge prompt {i}.");
        var unrelated = await Ask("A short, unrelated prompt.");

        Assert.Equal("1", opening.AdditionalProperties![EndpointRouter.EndpointKey]);
        Assert.Equal(6, second.Prompts.Count(p => p.Prompt.StartsWith(document, StringComparison.Ordinal)));
        Assert.Equal("0", unrelated.AdditionalProperties![EndpointRouter.EndpointKey]);
        Assert.Equal(5, router.AffinityHits);
    }

    [Fact]
    public void PrefixAffinity_ShortSharedPrefix_IsNotSteered()
    {
        var affinity = new PrefixAffinity(minimumChars: 512);
        var a = PrefixAffinity.Keys(new string('x', 300) + new string('a', 600));
        affinity.Record(a, 1);

        Assert.Null(affinity.Preferred(PrefixAffinity.Keys(new string('x', 300) + new string('b', 600))));
        Assert.Equal(1, affinity.Preferred(PrefixAffinity.Keys(new string('x', 300) + new string('a', 300) + new string('c', 600))));
    }

    [Theory]
    [InlineData("Judge", "smal", "Teacher:Roles:Judge: 'smal' is no endpoint")]
    [InlineData("Classify", "local, big", "Teacher:Roles:Classify: 'local' cannot be mixed")]
    public void Validate_BadRole_NamesTheRoleKey(string role, string value, string expected)
    {
        var options = new TeacherOptions
        {
            Endpoints = [new TeacherEndpointOptions { Url = "http://127.0.0.1:1/v1", Model = "m", Name = "big" }, new TeacherEndpointOptions { Url = "http://127.0.0.1:2/v1", Model = "m", Name = "small" }],
            Roles = { [Enum.Parse<TeacherRole>(role)] = value },
        };

        var e = Assert.Throws<OptionsValidationError>(() => options.Validate());

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_DuplicateNamesAndNegativePrice_NameTheirKeys()
    {
        var options = new TeacherOptions
        {
            Endpoints = [new() { Url = "http://a/v1", Model = "m", Name = "gpu" }, new() { Url = "http://b/v1", Model = "m", Name = "gpu", PricePerMillionOutput = -1 }],
        };

        var e = Assert.Throws<OptionsValidationError>(() => options.Validate());

        Assert.Contains("Teacher:Endpoints: the name 'gpu' is used by 2 endpoints", e.Message, StringComparison.Ordinal);
        Assert.Contains("Teacher:Endpoints:1:PricePerMillionOutput", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UsesLocalModel_OnlyWhenSomeRoleIsLocalOrNothingIsRemote()
    {
        var remote = new TeacherOptions { Endpoints = [new() { Url = "http://a/v1", Model = "m" }] };
        Assert.False(remote.UsesLocalModel);
        remote.Roles[TeacherRole.Judge] = TeacherOptions.LocalRole;
        Assert.True(remote.UsesLocalModel);
        Assert.Empty(remote.EndpointsFor(TeacherRole.Judge));
        Assert.Equal([0], remote.EndpointsFor(TeacherRole.Generate));
        Assert.True(new TeacherOptions().UsesLocalModel);
    }
}

using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SynthPipeline.Core;
using SynthPipeline.Core.Options;
using SynthPipeline.Pipeline.SelfInstruct;
using SynthPipeline.Pipeline.State;
using SynthPipeline.Pipeline.Teacher;
using SynthPipeline.Pipeline.Tests.SelfInstruct;

namespace SynthPipeline.Pipeline.Tests.Teacher;

/// <summary>The Self-Instruct run against OpenAI-compatible servers on loopback, through the official OpenAI client and the router.</summary>
public sealed class RemoteTeacherTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("synth-remote-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly string[] Exports = ["alpaca.jsonl", "sharegpt.jsonl", "openai-chat.jsonl", "review.csv"];

    private static TeacherOptions Teacher(params FakeOpenAiServer[] servers) => new()
    {
        Endpoints = [.. servers.Select(s => new TeacherEndpointOptions { Url = s.Url, Model = s.Model, MaxConcurrent = 4 })],
    };

    private async Task<RunOutcome> RunAsync(string name, TeacherOptions teacher, ILoggerFactory? loggers = null)
    {
        teacher.Validate();
        loggers ??= NullLoggerFactory.Instance;
        using var remote = RemoteTeacher.Create(teacher, loggers, TimeProvider.System);
        await remote.CheckAsync(CancellationToken.None);
        using var run = SelfInstructRun.Open(new GenerateOptions { Count = 12, Output = _dir, RunName = name, Seed = 3, RequestsInFlight = 6 }, teacher, null,
            TimeProvider.System);
        return await run.RunAsync(remote.Teacher, loggers, CancellationToken.None);
    }

    private void AssertSameExports(string a, string b)
    {
        foreach (var file in Exports)
            Assert.Equal(File.ReadAllBytes(Path.Combine(_dir, a, file)), File.ReadAllBytes(Path.Combine(_dir, b, file)));
    }

    [Fact]
    public async Task RunAsync_RateLimitsServerErrorsAndDroppedStreams_SameDatasetAsAFaultFreeRun()
    {
        var script = SelfInstructRunTests.SelfInstructTeacher();
        await using (var clean = await FakeOpenAiServer.StartAsync(script.Answer))
            Assert.False((await RunAsync("clean", Teacher(clean))).Cancelled);

        // Each prompt meets at most one fault of each kind, the first times it is asked: a retry always gets through,
        // so any difference from the clean run would be the pipeline's doing.
        var seen = new ConcurrentDictionary<string, int>();
        var injected = new ConcurrentDictionary<Fault, int>();
        await using var faulty = await FakeOpenAiServer.StartAsync(script.Answer);
        faulty.Faults = (_, prompt) =>
        {
            var times = seen.AddOrUpdate(prompt, 1, (_, n) => n + 1);
            var fault = (prompt.GetHashCode(StringComparison.Ordinal) & 3, times) switch
            {
                (0, 1) => Fault.RateLimited,
                (1, 1) => Fault.ServerError,
                (2, 1) => Fault.DroppedStream,
                _ => Fault.None,
            };
            if (fault != Fault.None) injected.AddOrUpdate(fault, 1, (_, n) => n + 1);
            return fault;
        };
        var outcome = await RunAsync("faulty", Teacher(faulty));

        Assert.False(outcome.Cancelled);
        Assert.All(new[] { Fault.RateLimited, Fault.ServerError, Fault.DroppedStream }, f => Assert.True(injected.GetValueOrDefault(f) > 0, $"no {f} was injected"));
        AssertSameExports("clean", "faulty");
        using (var store = RunStore.Open(Path.Combine(_dir, "faulty")))
            Assert.Equal(0, store.RequestTotals().Failed);
        // 429s and 500s arrive before the first token: the router moves them on within one attempt. Only a stream that
        // broke after handing out text costs the request a second attempt (by the resilience middleware); one that
        // broke before the client read its first piece is moved on by the router as well.
        using var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_dir, "faulty", RunStore.FileName)};Pooling=False");
        db.Open();
        using var query = db.CreateCommand();
        query.CommandText = "SELECT COUNT(*) FROM requests WHERE attempts > 1";
        Assert.InRange(Convert.ToInt32(query.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture), 0, injected[Fault.DroppedStream]);
    }

    [Fact]
    public async Task RunAsync_OneOfTwoEndpointsDiesMidRun_FinishesOnTheOtherWithTheSameDataset()
    {
        var script = SelfInstructRunTests.SelfInstructTeacher();
        await using (var clean = await FakeOpenAiServer.StartAsync(script.Answer))
            await RunAsync("clean", Teacher(clean));

        FakeOpenAiServer? dying = null;
        var stopped = 0;
        dying = await FakeOpenAiServer.StartAsync(prompt =>
        {
            // After a few answers the machine goes away; requests in flight on it end with it.
            if (dying!.Answered >= 4 && Interlocked.Exchange(ref stopped, 1) == 0) _ = Task.Run(dying.StopAsync);
            return script.Answer(prompt);
        });
        await using var surviving = await FakeOpenAiServer.StartAsync(script.Answer);
        await using (dying)
        {
            var outcome = await RunAsync("two", Teacher(dying, surviving));
            Assert.False(outcome.Cancelled);
        }

        Assert.Equal(1, stopped);
        Assert.True(dying!.Answered >= 4);
        Assert.True(surviving.Answered > 0);
        AssertSameExports("clean", "two");
    }

    private static EndpointRouter Router(TimeProvider time, params FakeOpenAiServer[] servers) =>
        RemoteTeacher.Create(Teacher(servers), NullLoggerFactory.Instance, time).Router;

    /// <summary>A clock that never moves, so a bench or pause cannot run out while a test looks.</summary>
    private sealed class FrozenTime : TimeProvider
    {
        private readonly DateTimeOffset _now = TimeProvider.System.GetUtcNow();

        public override DateTimeOffset GetUtcNow() => _now;
    }

    [Fact]
    public async Task Router_RateLimited_PausesThatEndpointForItsRetryAfterAndAnswersFromTheOther()
    {
        await using var limited = await FakeOpenAiServer.StartAsync(_ => "never");
        limited.Faults = (_, _) => Fault.RateLimited;
        await using var open = await FakeOpenAiServer.StartAsync(p => "answer to " + p);
        using var router = Router(new FrozenTime(), limited, open);

        for (var i = 0; i < 4; i++)
            Assert.Equal($"answer to q{i}", (await router.GetResponseAsync([new(Microsoft.Extensions.AI.ChatRole.User, $"q{i}")])).Text);

        // Tried once, then left alone for its ten minutes (the clock stands still here).
        Assert.Equal(1, limited.Requests);
        Assert.Equal(4, open.Answered);
    }

    [Fact]
    public async Task Router_ServerErrors_BenchesTheEndpointAfterThreeInARow()
    {
        await using var broken = await FakeOpenAiServer.StartAsync(_ => "never");
        broken.Faults = (_, _) => Fault.ServerError;
        await using var healthy = await FakeOpenAiServer.StartAsync(p => "answer to " + p);
        using var router = Router(new FrozenTime(), broken, healthy);

        for (var i = 0; i < 8; i++)
            Assert.Equal($"answer to q{i}", (await router.GetResponseAsync([new(Microsoft.Extensions.AI.ChatRole.User, $"q{i}")])).Text);

        Assert.Equal(3, broken.Requests);
        Assert.Equal(8, healthy.Answered);
    }

    [Fact]
    public void Validate_UrlWithoutSchemeOrMissingKeyVariable_NamesTheKeys()
    {
        var options = new TeacherOptions
        {
            Endpoints =
            [
                new TeacherEndpointOptions { Url = "localhost:8000/v1", Model = "m" },
                new TeacherEndpointOptions { Url = "http://localhost:8000/v1", Model = "m", ApiKeyVariable = "SYNTH_TEST_NO_SUCH_KEY_VARIABLE" },
            ],
        };
        var e = Assert.Throws<OptionsValidationError>(() => options.Validate());
        Assert.Contains("Teacher:Endpoints:0:Url: 'localhost:8000/v1' is not an http(s) URL", e.Message, StringComparison.Ordinal);
        Assert.Contains("Teacher:Endpoints:1:ApiKeyVariable: the environment variable SYNTH_TEST_NO_SUCH_KEY_VARIABLE is not set", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckAsync_UnreachableEndpoint_NamesTheUrlSetting()
    {
        var options = new TeacherOptions { Endpoints = [new TeacherEndpointOptions { Url = "http://127.0.0.1:1/v1", Model = "m" }] };
        using var remote = RemoteTeacher.Create(options, NullLoggerFactory.Instance, TimeProvider.System);
        var e = await Assert.ThrowsAsync<UserErrorException>(() => remote.CheckAsync(CancellationToken.None));
        Assert.Contains("Teacher:Endpoints:0:Url: http://127.0.0.1:1/v1 cannot be reached", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckAsync_KeyRefused_NamesTheEndpointAndTheVariable()
    {
        await using var server = await FakeOpenAiServer.StartAsync(_ => "", key: "right-key");
        Environment.SetEnvironmentVariable("SYNTH_TEST_WRONG_KEY", "wrong-key");
        var options = new TeacherOptions { Endpoints = [new TeacherEndpointOptions { Url = server.Url, Model = server.Model, ApiKeyVariable = "SYNTH_TEST_WRONG_KEY" }] };
        using var remote = RemoteTeacher.Create(options, NullLoggerFactory.Instance, TimeProvider.System);
        var e = await Assert.ThrowsAsync<UserErrorException>(() => remote.CheckAsync(CancellationToken.None));
        Assert.Contains("Teacher:Endpoints:0", e.Message, StringComparison.Ordinal);
        Assert.Contains("refused the API key (401)", e.Message, StringComparison.Ordinal);
        Assert.Contains("$SYNTH_TEST_WRONG_KEY", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-key", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_WithAnApiKey_KeyIsSentButNeverWrittenToTheRunFolderOrTheLog()
    {
        const string key = "sk-test-4242-DO-NOT-LEAK";
        Environment.SetEnvironmentVariable("SYNTH_TEST_KEY", key);
        await using var server = await FakeOpenAiServer.StartAsync(SelfInstructRunTests.SelfInstructTeacher().Answer, key: key);
        var log = new CollectingLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(log));
        var teacher = new TeacherOptions { Endpoints = [new TeacherEndpointOptions { Url = server.Url, Model = server.Model, ApiKeyVariable = "SYNTH_TEST_KEY" }] };

        await RunAsync("secret", teacher, loggers);

        Assert.Contains("Bearer " + key, server.Authorizations);
        Assert.NotEmpty(log.Lines);
        Assert.DoesNotContain(log.Lines, l => l.Contains(key, StringComparison.Ordinal));
        var needle = Encoding.UTF8.GetBytes(key);
        foreach (var file in Directory.GetFiles(Path.Combine(_dir, "secret"), "*", SearchOption.AllDirectories))
            Assert.True(File.ReadAllBytes(file).AsSpan().IndexOf(needle) < 0, $"{file} holds the key");
    }

    private sealed class CollectingLoggerProvider : ILoggerProvider
    {
        public ConcurrentQueue<string> Lines { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Collector(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Collector(CollectingLoggerProvider owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                owner.Lines.Enqueue($"{category}: {formatter(state, exception)} {exception}");
        }
    }
}

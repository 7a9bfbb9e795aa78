using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using SynthPipeline.Pipeline.Tests.Teacher;

namespace SynthPipeline.Cli.Tests;

/// <summary>
/// <c>synth serve</c> as a fleet member: generate and augment run against it (the demo model, over real HTTP), and a
/// run against a remote teacher survives kill -9.
/// </summary>
public sealed partial class ServeCliTests
{
    // kill(2) itself: starting /bin/kill takes milliseconds, and the race this guards is in the first of them.
    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SendSignal(int pid, int signal);

    private const int SigInt = 2;

    private static string Run(string dir, string name) => Path.Combine(dir, "output", name);

    /// <summary>Starts <c>synth serve --port 0</c> and reads the address it prints; with <paramref name="interruptAtOnce"/>, sends it SIGINT the moment the line arrives.</summary>
    private static async Task<(Process Server, string Url, string Model, Func<string> Stderr)> StartServeAsync(string dir, bool interruptAtOnce = false,
        IReadOnlyDictionary<string, string>? settings = null)
    {
        var environment = new Dictionary<string, string> { ["Teacher__FlashAttention"] = "off", ["Teacher__ParallelSequences"] = "8" };
        foreach (var (k, v) in settings ?? new Dictionary<string, string>()) environment[k] = v;
        var p = SynthProcess.Start(dir, environment, "serve", "--port", "0");
        var stderr = new StringBuilder();
        p.ErrorDataReceived += (_, e) => { lock (stderr) stderr.AppendLine(e.Data); };
        p.BeginErrorReadLine();
        string Errors() { lock (stderr) return stderr.ToString(); }
        // Read and signal on one thread, with no await between them: the race guarded is in the line's first milliseconds.
        var line = await Task.Run(() =>
        {
            string? read;
            do read = p.StandardOutput.ReadLine();
            while (read is not null && !read.StartsWith("serving ", StringComparison.Ordinal));
            if (read is not null && interruptAtOnce) Assert.Equal(0, SendSignal(p.Id, SigInt));
            return read;
        });
        Assert.True(line is not null, "synth serve printed no address: " + Errors());
        var parts = line!.Split(' ');
        return (p, parts[3], parts[1], Errors);
    }

    private static void Stop(Process server)
    {
        if (!server.HasExited) server.Kill();
        server.WaitForExit();
        server.Dispose();
    }

    [Fact]
    public async Task Serve_TopKBeyondTheVocabularyWithInGraphSampling_AnswersAndKeepsServing()
    {
        // ggml's in-graph top-k asserts k <= the vocabulary (489 tokens here), and an assert would end the server.
        var dir = SynthProcess.ScratchDirectory();
        var (server, url, model, serverErrors) = await StartServeAsync(dir, settings: new Dictionary<string, string> { ["Teacher__Sampling"] = "graph" });
        try
        {
            using var http = new HttpClient();
            foreach (var topK in new[] { 1000, 40 })
            {
                var body = JsonSerializer.Serialize(new { model, messages = new[] { new { role = "user", content = "hello" } }, max_tokens = 8, top_k = topK, seed = 1 });
                using var response = await http.PostAsync(url + "/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
                Assert.True(response.IsSuccessStatusCode, $"top_k {topK}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()} {serverErrors()}");
            }
            Assert.False(server.HasExited);
        }
        finally
        {
            Stop(server);
        }
    }

    [Fact]
    public async Task Generate_AgainstSynthServeWithTheDemoModel_FinishesAndAccountsTheServersCachedTokens()
    {
        var dir = SynthProcess.ScratchDirectory();
        var (server, url, model, serverErrors) = await StartServeAsync(dir);
        try
        {
            Assert.StartsWith("http://127.0.0.1:", url, StringComparison.Ordinal);
            var r = await SynthProcess.RunAsync(dir, new Dictionary<string, string> { ["Generate__DemoGrammars"] = "On" },
                "generate", "--count", "5", "--run-name", "served", "--teacher-url", url, "--teacher-model", model);

            Assert.True(r.ExitCode == 0, r.Stderr + serverErrors());
            using var stats = JsonDocument.Parse(File.ReadAllText(Path.Combine(Run(dir, "served"), "stats.json")));
            Assert.Equal(5, stats.RootElement.GetProperty("instructions_accepted").GetInt32());
            var usage = stats.RootElement.GetProperty("teacher_usage");
            Assert.Equal(stats.RootElement.GetProperty("teacher_requests").GetInt64() - stats.RootElement.GetProperty("teacher_requests_failed").GetInt64(),
                usage.GetProperty("by_endpoint").GetProperty("0").GetProperty("requests").GetInt64());
            // Every Self-Instruct prompt starts with the same header, so the server's engine reuses its KV.
            Assert.True(usage.GetProperty("cached_tokens").GetInt64() > 0);
            Assert.Contains($"{model} at {url}", File.ReadAllText(Path.Combine(Run(dir, "served"), "README.md")), StringComparison.Ordinal);
            Assert.Contains("cached)", r.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            Stop(server);
        }
    }

    [Fact]
    public async Task Augment_AgainstSynthServeWithTheDemoModel_GeneratesJudgesAndExports()
    {
        var dir = SynthProcess.ScratchDirectory();
        var corpus = Path.Combine(dir, "docs");
        Directory.CreateDirectory(corpus);
        await File.WriteAllTextAsync(Path.Combine(corpus, "lighthouse.md"), string.Join("\n\n", Enumerable.Range(1, 6).Select(i =>
            $"The lighthouse on island {i} was built in {1850 + i * 7}. Its lamp burned whale oil until {1900 + i}, then kerosene, and its keeper rowed to the mainland every {i + 2} days for supplies.")));
        var (server, url, model, serverErrors) = await StartServeAsync(dir);
        try
        {
            var r = await SynthProcess.RunAsync(dir, new Dictionary<string, string>
            {
                ["Augment__DemoGrammars"] = "On", ["Augment__JudgeTemperature"] = "2", ["Augment__JudgeVotes"] = "1",
            }, "augment", corpus, "--run-name", "served", "--chunk-tokens", "128", "--teacher-url", url, "--teacher-model", model);

            Assert.True(r.ExitCode == 0, r.Stderr + serverErrors());
            using var stats = JsonDocument.Parse(File.ReadAllText(Path.Combine(Run(dir, "served"), "stats.json")));
            Assert.True(stats.RootElement.GetProperty("variants").GetProperty("legitimate").GetProperty("generated").GetInt32() > 0);
            var roles = stats.RootElement.GetProperty("teacher_usage").GetProperty("by_role");
            Assert.True(roles.GetProperty("generate").GetProperty("requests").GetInt64() > 0);
            Assert.True(roles.GetProperty("judge").GetProperty("requests").GetInt64() > 0);
            Assert.True(File.Exists(Path.Combine(Run(dir, "served"), "README.md")));
        }
        finally
        {
            Stop(server);
        }
    }

    [Fact]
    public async Task Serve_CtrlC_StopsListeningAndExits130()
    {
        var dir = SynthProcess.ScratchDirectory();
        // At once after the address line. A second Ctrl+C handler in the host used to swallow this one (14 of 15 tries),
        // and before synth registered its handler ahead of every command, it met none and killed the process without
        // the graceful stop.
        var (server, url, _, errors) = await StartServeAsync(dir, interruptAtOnce: true);
        using (var guard = new CancellationTokenSource(TimeSpan.FromMinutes(2)))
        {
            // A guard against hanging CI, not a speed check: the server stops within a second when the signal arrives.
            try { await server.WaitForExitAsync(guard.Token); }
            catch (OperationCanceledException) { server.Kill(); Assert.Fail("synth serve ignored Ctrl+C: " + errors()); }
        }

        Assert.Equal(SynthApp.ExitCancelled, server.ExitCode);
        Assert.Contains("stopped", errors(), StringComparison.Ordinal);
        using var http = new HttpClient();
        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync(new Uri(url + "/models")));
        server.Dispose();
    }

    [Fact]
    public async Task Serve_OffLoopbackWithoutAKey_RefusesNamingTheFlag()
    {
        var r = await SynthProcess.RunAsync(SynthProcess.ScratchDirectory(), null, "serve", "--host", "0.0.0.0", "--port", "0");

        Assert.Equal(SynthApp.ExitBadConfiguration, r.ExitCode);
        Assert.Contains("--api-key: binding to 0.0.0.0 lets other machines in", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Generate_RemoteTeacherKilledAtPointsAndResumed_SameDatasetNothingLostOrCountedTwice()
    {
        await using var teacher = await FakeOpenAiServer.StartAsync(RemoteTeacherCliTests.Answer);
        var dir = SynthProcess.ScratchDirectory();
        string[] remote = ["--teacher-url", teacher.Url, "--teacher-model", teacher.Model];
        var whole = await SynthProcess.RunAsync(dir, null, ["generate", "--count", "40", "--run-name", "whole", .. remote]);
        Assert.True(whole.ExitCode == 0, whole.Stderr);

        var kills = await SynthProcess.KillAtPointsAsync(dir, new Dictionary<string, string>(), ["generate", "--count", "40", "--run-name", "killed", .. remote],
            ["generate", "--resume", "killed", .. remote], Run(dir, "killed"), GenerateTests.KillPoints("SELECT COUNT(*) FROM processed_prompts", 3));
        var final = await SynthProcess.RunAsync(dir, null, ["generate", "--resume", "killed", .. remote]);

        Assert.True(final.ExitCode == 0, final.Stderr);
        Assert.True(kills >= 2, $"only {kills} kills landed on a running process");
        foreach (var file in new[] { "alpaca.jsonl", "sharegpt.jsonl", "openai-chat.jsonl", "review.csv" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(Run(dir, "whole"), file)), File.ReadAllBytes(Path.Combine(Run(dir, "killed"), file)));
        var db = Path.Combine(Run(dir, "killed"), "state.db");
        // Every answered request is accounted once, however many processes it took.
        Assert.Equal(SynthProcess.StoreCount(db, "SELECT COUNT(*) FROM requests WHERE status = 'done'"), SynthProcess.StoreCount(db, "SELECT COUNT(*) FROM request_usage"));
        Assert.Equal(40, SynthProcess.StoreCount(db, "SELECT COUNT(DISTINCT text) FROM instructions"));
    }
}

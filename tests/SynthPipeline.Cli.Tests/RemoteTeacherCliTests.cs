using System.Text.Json;
using SynthPipeline.Pipeline.Tests.Teacher;

namespace SynthPipeline.Cli.Tests;

/// <summary><c>synth generate --teacher-url</c> against an OpenAI-compatible server on loopback.</summary>
public sealed class RemoteTeacherCliTests
{
    private static readonly string[] Words = ["river", "lantern", "copper", "meadow", "harbour", "violin", "glacier", "orchard", "compass", "thunder", "saddle", "pepper"];

    /// <summary>Answers every Self-Instruct prompt kind from the prompt's text alone.</summary>
    internal static string Answer(string prompt)
    {
        var random = new Random(prompt.Length * 31 + prompt[^8..].Sum(c => c));
        string Instruction() => "Explain " + string.Join(' ', Enumerable.Range(0, 8).Select(_ => Words[random.Next(Words.Length)])) + ".";
        if (prompt.StartsWith("Come up with a series of tasks:", StringComparison.Ordinal))
            return $" {Instruction()}\n{int.Parse(prompt.TrimEnd().Split('\n')[^1].TrimEnd('.'), System.Globalization.CultureInfo.InvariantCulture) + 1}. {Instruction()}";
        if (prompt.StartsWith("Can the following task be regarded", StringComparison.Ordinal)) return "No";
        return $"Input: {Instruction()}\nOutput: an answer";
    }

    [Fact]
    public async Task Generate_TeacherUrlFlags_RunsAgainstTheServerAndTheCardNamesIt()
    {
        await using var server = await FakeOpenAiServer.StartAsync(Answer);
        var dir = SynthProcess.ScratchDirectory();
        var r = await SynthProcess.RunAsync(dir, null, "generate", "--count", "6", "--run-name", "remote", "--teacher-url", server.Url, "--teacher-model", server.Model);

        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.DoesNotContain("demo model", r.Stderr, StringComparison.Ordinal);
        Assert.True(server.Answered > 6);
        var run = Path.Combine(dir, "output", "remote");
        using var stats = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "stats.json")));
        Assert.Equal(6, stats.RootElement.GetProperty("instructions_accepted").GetInt32());
        Assert.Contains($"fake-model at {server.Url}", File.ReadAllText(Path.Combine(run, "README.md")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Generate_TeacherDown_LeavesNoRunBehind_SoTheSameCommandStartsItOnceTheServerIsUp()
    {
        string down;
        await using (var gone = await FakeOpenAiServer.StartAsync(Answer)) down = gone.Url;
        var dir = SynthProcess.ScratchDirectory();
        var failed = await SynthProcess.RunAsync(dir, null, "generate", "--count", "4", "--run-name", "night", "--teacher-url", down, "--teacher-model", "fake-model");
        Assert.Equal(SynthApp.ExitFailure, failed.ExitCode);
        Assert.Contains("Teacher:Endpoints:0:Url", failed.Stderr, StringComparison.Ordinal);
        Assert.Contains("cannot be reached", failed.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(dir, "output", "night")));

        await using var server = await FakeOpenAiServer.StartAsync(Answer);
        var r = await SynthProcess.RunAsync(dir, null, "generate", "--count", "4", "--run-name", "night", "--teacher-url", server.Url, "--teacher-model", server.Model);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("starting run", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_RemoteTeacherWithoutStudent_NamesTheSettingAndLeavesNoRun_AndSkipTrainNeedsNone()
    {
        await using var server = await FakeOpenAiServer.StartAsync(Answer);
        var dir = SynthProcess.ScratchDirectory();
        string[] run = ["run", "--count", "3", "--run-name", "night", "--corpus", RunFixtures.Corpus(dir), "--teacher-url", server.Url, "--teacher-model", server.Model];
        var refused = await SynthProcess.RunAsync(dir, null, run);
        Assert.Equal(SynthApp.ExitBadConfiguration, refused.ExitCode);
        Assert.Contains("Run:Student: the teacher is remote, so name the model to train (--student)", refused.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(dir, "output", "night")));
        Assert.Equal(0, server.Answered);

        var data = await SynthProcess.RunAsync(dir, null, [.. run, "--skip-train"]);
        Assert.True(data.ExitCode == 0, data.Stderr);
        Assert.True(File.Exists(Path.Combine(dir, "output", "night", "generate", "alpaca_data.json")));
        Assert.False(Directory.Exists(Path.Combine(dir, "output", "night", "train")));
    }

    [Fact]
    public async Task Generate_TeacherUrlWithoutSchemeOrModel_NamesTheSettingsAndCreatesNothing()
    {
        var dir = SynthProcess.ScratchDirectory();
        var r = await SynthProcess.RunAsync(dir, null, "generate", "--teacher-url", "localhost:8000/v1");
        Assert.Equal(SynthApp.ExitBadConfiguration, r.ExitCode);
        Assert.Contains("Teacher:Endpoints:0:Url: 'localhost:8000/v1' is not an http(s) URL", r.Stderr, StringComparison.Ordinal);
        Assert.Contains("Teacher:Endpoints:0:Model: name the model", r.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(dir, "output")));
    }
}

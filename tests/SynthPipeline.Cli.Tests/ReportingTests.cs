using Spectre.Console;
using SynthPipeline.Cli.Hosting;
using SynthPipeline.Core;
using SynthPipeline.Core.Options;
using SynthPipeline.Pipeline.Progress;

namespace SynthPipeline.Cli.Tests;

public sealed class ReportingTests
{
    [Fact]
    public void Report_UserError_IsOneLineWithExitCode1()
    {
        using var stderr = new StringWriter();
        var code = SynthApp.Report(new UserErrorException("seeds.jsonl:3: not valid JSON"), stderr);
        Assert.Equal(SynthApp.ExitFailure, code);
        Assert.Equal("error: seeds.jsonl:3: not valid JSON" + Environment.NewLine, stderr.ToString());
    }

    [Fact]
    public void Report_BadSetting_NamesTheKeyWithExitCode2()
    {
        using var stderr = new StringWriter();
        var code = SynthApp.Report(new OptionsValidationError(["Teacher:ParallelSequences: must be between 1 and 256"]), stderr);
        Assert.Equal(SynthApp.ExitBadConfiguration, code);
        Assert.Contains("Teacher:ParallelSequences", stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Report_AnyOtherException_IsABugWithItsStackTrace()
    {
        Exception bug;
        try
        {
            throw new InvalidOperationException("index out of step");
        }
        catch (InvalidOperationException e)
        {
            bug = e;
        }
        using var stderr = new StringWriter();
        var code = SynthApp.Report(bug, stderr);
        Assert.Equal(SynthApp.ExitBug, code);
        var text = stderr.ToString();
        Assert.Contains("System.InvalidOperationException: index out of step", text, StringComparison.Ordinal);
        Assert.Contains("at SynthPipeline.Cli.Tests.ReportingTests.Report_AnyOtherException_IsABugWithItsStackTrace", text, StringComparison.Ordinal);
        Assert.Contains("This is a bug in synth", text, StringComparison.Ordinal);
    }

    private static readonly ProgressSnapshot Snapshot = new("synth generate", "accepted", 3, 10, TimeSpan.FromSeconds(65), TimeSpan.FromSeconds(130),
        [new ProgressRow("prompts processed", "7"), new ProgressRow("generated tokens/s", "412")],
        new Dictionary<string, long> { ["novelty/rouge_l_too_similar"] = 2, ["filter/too_short"] = 5 });

    [Fact]
    public void Line_Snapshot_ShowsCountRowsEtaAndRejectionsMostFirst()
    {
        var line = new ProgressView(Console(new StringWriter()), new FixedProgress(Snapshot), null, live: false).Line(Snapshot);
        Assert.Equal("[00:01:05] accepted 3/10, prompts processed 7, generated tokens/s 412, ETA 00:02:10; rejected: filter/too_short 5, novelty/rouge_l_too_similar 2", line);
    }

    [Fact]
    public async Task ShowWhileAsync_LiveAndPlain_DrawTheSameSnapshot()
    {
        foreach (var live in new[] { true, false })
        {
            using var writer = new StringWriter();
            await new ProgressView(Console(writer), new FixedProgress(Snapshot), null, live).ShowWhileAsync(Task.CompletedTask);
            var output = writer.ToString();
            foreach (var text in new[] { "accepted", "3", "10", "prompts processed", "412", "00:02:10", "filter/too_short", "novelty/rouge_l_too_similar" })
                Assert.Contains(text, output, StringComparison.Ordinal);
        }
    }

    private static IAnsiConsole Console(TextWriter writer)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.No,
        });
        console.Profile.Width = 200;
        return console;
    }

    private sealed class FixedProgress(ProgressSnapshot snapshot) : IRunProgress
    {
        public ProgressSnapshot Snapshot() => snapshot;
    }
}

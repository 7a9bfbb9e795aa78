using Microsoft.Extensions.Logging.Abstractions;
using SynthPipeline.Core.Options;
using SynthPipeline.Pipeline.Augment;
using SynthPipeline.Pipeline.SelfInstruct;
using SynthPipeline.Pipeline.Teacher;
using SynthPipeline.Pipeline.Tests.Augment;

namespace SynthPipeline.Pipeline.Tests.Output;

/// <summary>The small scripted runs whose report.html the report tests read, in the markup and in a browser.</summary>
internal static class ReportRuns
{
    /// <summary>A 10-instruction Self-Instruct run named "g" under <paramref name="dir"/>; returns its folder.</summary>
    public static async Task<string> GenerateAsync(string dir, ScriptedTeacher teacher)
    {
        using (var run = SelfInstructRun.Open(new GenerateOptions { Count = 10, Output = dir, RunName = "g", Seed = 4, RequestsInFlight = 2 }, new TeacherOptions(), null, TimeProvider.System))
            await run.RunAsync(new RunTeacher(teacher, "scripted", false, t => t.Length / 4), NullLoggerFactory.Instance, CancellationToken.None);
        return Path.Combine(dir, "g");
    }

    /// <summary>An augment run named "a" over the test corpus, written under <paramref name="dir"/>; returns its folder.</summary>
    public static async Task<string> AugmentAsync(string dir)
    {
        var corpus = TestCorpus.Create(Path.Combine(dir, "corpus"), problems: false);
        using (var run = AugmentRun.Open(new AugmentOptions { Corpus = corpus, ChunkTokens = 12, ChunkOverlapTokens = 3, Seed = 5, ChunksInFlight = 3, Output = dir, RunName = "a" },
                   new TeacherOptions(), null, TimeProvider.System))
            await run.RunAsync(new RunTeacher(ScriptedTeacher.Good(), "scripted", false, t => t.Split(' ').Length), NullLoggerFactory.Instance, CancellationToken.None);
        return Path.Combine(dir, "a");
    }
}

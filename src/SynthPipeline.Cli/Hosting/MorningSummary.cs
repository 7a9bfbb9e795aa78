using System.Globalization;
using SynthPipeline.Pipeline.Run;

namespace SynthPipeline.Cli.Hosting;

/// <summary>What <c>synth run</c> prints on stdout when it ends: each stage's time and result, where things are, and what to look at.</summary>
internal static class MorningSummary
{
    /// <returns>The exit code: 0, or 130 after Ctrl+C.</returns>
    public static int Print(TextWriter stdout, OvernightOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(outcome);
        stdout.WriteLine(outcome.Cancelled ? $"stopped: everything so far is saved; continue with synth run --resume {outcome.Folder}" : $"done: {outcome.Folder}");
        foreach (var stage in outcome.Stages)
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {stage.Stage,-9} {Duration(stage.Elapsed),9}  {stage.Summary}"));
        if (!outcome.Cancelled)
        {
            stdout.WriteLine("look at:");
            stdout.WriteLine($"  {Path.Combine(outcome.Folder, "report.html")}  (the report, for a browser: stages, funnel, reasons, charts, samples)");
            stdout.WriteLine($"  {Path.Combine(outcome.Folder, "augment", "README.md")}  (the dataset card: counts, rejections, teacher usage)");
            stdout.WriteLine($"  {Path.Combine(outcome.Folder, "augment", "openai-chat.jsonl")}, {Path.Combine(outcome.Folder, "generate", "alpaca_data.json")}  (training data; Parquet beside them)");
            stdout.WriteLine($"  {Path.Combine(outcome.Folder, "augment", "rejected.jsonl")}  (what was dropped and why)");
            if (outcome.Stages.Any(s => s.Stage == "eval" && !s.Skipped))
            {
                stdout.WriteLine($"  {Path.Combine(outcome.Folder, "eval", "eval.md")}  (did the data help? base against adapter on held-out probes)");
                stdout.WriteLine($"  synth eval --run {outcome.Folder} --ablate; synth loop --run {outcome.Folder}  (what each kind of data does; self-improvement rounds)");
            }
            if (outcome.Stages.Any(s => s.Stage == "train" && !s.Skipped))
                stdout.WriteLine($"  synth chat --lora {Path.Combine(outcome.Folder, "train", "adapter.gguf")} -p \"…\"  (try the adapter)");
        }
        return outcome.Cancelled ? SynthApp.ExitCancelled : SynthApp.ExitOk;
    }

    private static string Duration(TimeSpan t) => t.TotalMinutes >= 1
        ? string.Create(CultureInfo.InvariantCulture, $"{t.TotalMinutes:F1} min")
        : string.Create(CultureInfo.InvariantCulture, $"{t.TotalSeconds:F1} s");
}

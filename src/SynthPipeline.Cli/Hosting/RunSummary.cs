using System.Globalization;
using Spectre.Console;
using SynthPipeline.Llama.Teacher;
using SynthPipeline.Pipeline.State;

namespace SynthPipeline.Cli.Hosting;

/// <summary>The closing lines of a data run: what the local engine computed (if local), then done (or stopped, with how to continue) and where the files are.</summary>
internal static class RunSummary
{
    /// <returns>The exit code: 0, or 130 after Ctrl+C.</returns>
    public static int Print(IAnsiConsole stderr, RunOutcome outcome, LlamaChatClient? engine, TimeSpan elapsed)
    {
        ArgumentNullException.ThrowIfNull(stderr);
        ArgumentNullException.ThrowIfNull(outcome);
        if (engine?.Metrics() is { } e)
            stderr.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                $"engine: {e.PromptTokensProcessed} prompt tokens computed, {e.PromptTokensReused} reused from shared prefixes, {e.GeneratedTokens} generated ({e.BackendSampledTokens} sampled in-graph), {e.Decodes} decodes; {elapsed.TotalSeconds:F1} s")));
        if (engine?.Metrics() is { Decodes: > 0 } t)
        {
            var whole = t.WholeVocabularyDraws > 0
                ? string.Create(CultureInfo.InvariantCulture, $"; {t.WholeVocabularyDraws} of {t.GeneratedTokens} draws over the whole vocabulary (a distribution too flat for the bounded candidates)")
                : "";
            stderr.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                $"engine time: decode {t.DecodeSeconds:F1} s, sampling {t.SamplingSeconds:F1} s, text {t.TextSeconds:F1} s, idle {t.IdleSeconds:F1} s{whole}")));
        }
        stderr.MarkupLine((outcome.Cancelled ? "[yellow]stopped[/]: state saved; continue with --resume " + Markup.Escape(outcome.Folder) : "[green]done[/]") +
            Markup.Escape($": {outcome.Summary} in {outcome.Folder}"));
        return outcome.Cancelled ? SynthApp.ExitCancelled : SynthApp.ExitOk;
    }
}

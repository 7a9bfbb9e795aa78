using System.Globalization;
using Spectre.Console;
using SynthPipeline.Llama.Teacher;
using SynthPipeline.Pipeline;

namespace SynthPipeline.Cli.Hosting;

/// <summary>
/// Shows a run's progress while it works: on a terminal a live table (accepted against target, rejections per
/// reason, prompts in flight, tokens/s, engine queue and KV use, ETA); otherwise one plain line every 10 seconds.
/// </summary>
internal sealed class GenerateProgressView(IAnsiConsole console, PipelineProgress progress, LlamaChatClient teacher, bool live)
{
    private static readonly TimeSpan PlainInterval = TimeSpan.FromSeconds(10);

    public async Task ShowWhileAsync(Task run)
    {
        var acceptedAtStart = progress.Accepted;
        if (live)
        {
            await console.Live(Render(acceptedAtStart)).AutoClear(false).StartAsync(async ctx =>
            {
                while (await Task.WhenAny(run, Task.Delay(500)).ConfigureAwait(false) != run)
                {
                    ctx.UpdateTarget(Render(acceptedAtStart));
                }
                ctx.UpdateTarget(Render(acceptedAtStart));
            }).ConfigureAwait(false);
        }
        else
        {
            while (await Task.WhenAny(run, Task.Delay(PlainInterval)).ConfigureAwait(false) != run)
                console.WriteLine(Line(acceptedAtStart));
            console.WriteLine(Line(acceptedAtStart));
        }
        await run.ConfigureAwait(false);
    }

    private string Line(long acceptedAtStart)
    {
        var e = teacher.Metrics();
        var eta = progress.EstimatedRemaining(acceptedAtStart);
        var rejections = string.Join(", ", progress.Rejections.OrderByDescending(p => p.Value).Select(p => $"{p.Key} {p.Value}"));
        var etaText = eta is { } t ? t.ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture) : "?";
        var line = FormattableString.Invariant(
            $"[{progress.Elapsed:hh\\:mm\\:ss}] accepted {progress.Accepted}/{progress.Target}, prompts {progress.PromptsProcessed}, in flight {progress.InFlight}, {progress.TokensPerSecond:F0} tok/s, engine queue {e.QueueDepth} active {e.ActiveSequences} KV {e.KvUse:P0}, ETA {etaText}");
        return rejections.Length > 0 ? $"{line}; rejected: {rejections}" : line;
    }

    private Table Render(long acceptedAtStart)
    {
        var e = teacher.Metrics();
        var eta = progress.EstimatedRemaining(acceptedAtStart);
        var table = new Table().Border(TableBorder.Rounded).AddColumn("synth generate").AddColumn(new TableColumn("").RightAligned());
        var fraction = progress.Target == 0 ? 0 : Math.Min(1, (double)progress.Accepted / progress.Target);
        table.AddRow("accepted", $"{progress.Accepted} / {progress.Target}  [green]{new string('█', (int)(fraction * 30))}[/][grey]{new string('░', 30 - (int)(fraction * 30))}[/]");
        table.AddRow("prompts processed", progress.PromptsProcessed.ToString(CultureInfo.InvariantCulture));
        table.AddRow("instructions with examples", progress.InstructionsWithInstances.ToString(CultureInfo.InvariantCulture));
        table.AddRow("requests in flight", progress.InFlight.ToString(CultureInfo.InvariantCulture));
        table.AddRow("generated tokens/s", progress.TokensPerSecond.ToString("F0", CultureInfo.InvariantCulture));
        table.AddRow("engine", string.Create(CultureInfo.InvariantCulture, $"queue {e.QueueDepth}, active {e.ActiveSequences}, KV {e.KvUse:P0}, {e.GeneratedTokensPerSecond:F0} tok/s"));
        table.AddRow("elapsed / ETA", $"{progress.Elapsed:hh\\:mm\\:ss} / {(eta is { } t ? t.ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture) : "?")}");
        foreach (var (reason, n) in progress.Rejections.OrderByDescending(p => p.Value))
            table.AddRow($"[grey]rejected: {Markup.Escape(reason)}[/]", n.ToString(CultureInfo.InvariantCulture));
        return table;
    }
}

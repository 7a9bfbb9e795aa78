using System.Globalization;
using Spectre.Console;
using SynthPipeline.Augment;
using SynthPipeline.Llama.Teacher;
using SynthPipeline.Pipeline.Augment;

namespace SynthPipeline.Cli.Hosting;

/// <summary>
/// Shows an augment run's progress: on a terminal a live table (chunks, pages, accepted per kind, rejections per
/// reason, tokens/s, chunks/min, engine load, ETA); otherwise one plain line every 10 seconds.
/// </summary>
internal sealed class AugmentProgressView(IAnsiConsole console, AugmentProgress progress, LlamaChatClient teacher, bool live)
{
    private static readonly TimeSpan PlainInterval = TimeSpan.FromSeconds(10);

    public async Task ShowWhileAsync(Task run)
    {
        if (live)
        {
            await console.Live(Render()).AutoClear(false).StartAsync(async ctx =>
            {
                while (await Task.WhenAny(run, Task.Delay(500)).ConfigureAwait(false) != run)
                    ctx.UpdateTarget(Render());
                ctx.UpdateTarget(Render());
            }).ConfigureAwait(false);
        }
        else
        {
            while (await Task.WhenAny(run, Task.Delay(PlainInterval)).ConfigureAwait(false) != run)
                console.WriteLine(Line());
            console.WriteLine(Line());
        }
        await run.ConfigureAwait(false);
    }

    private string Eta => progress.EstimatedRemaining is { } t ? t.ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture) : "?";

    private string Accepted => string.Join(", ", Enum.GetValues<ExampleKind>().Select(k => $"{k.ToString().ToLowerInvariant()} {progress.Accepted(k)}"));

    private string Line()
    {
        var e = teacher.Metrics();
        var rejections = string.Join(", ", progress.Teacher.Rejections.OrderByDescending(p => p.Value).Select(p => $"{p.Key} {p.Value}"));
        var line = FormattableString.Invariant(
            $"[{progress.Elapsed:hh\\:mm\\:ss}] chunks {progress.ChunksDone}/{progress.ChunksKnown}, documents {progress.DocumentsRead} ({progress.Problems.Count} skipped), accepted {Accepted}, in flight {progress.Teacher.InFlight}, {progress.Teacher.TokensPerSecond:F0} tok/s, {progress.ChunksPerMinute:F1} chunks/min, engine queue {e.QueueDepth} active {e.ActiveSequences}, ETA {Eta}");
        return rejections.Length > 0 ? $"{line}; rejected: {rejections}" : line;
    }

    private Table Render()
    {
        var e = teacher.Metrics();
        var table = new Table().Border(TableBorder.Rounded).AddColumn("synth augment").AddColumn(new TableColumn("").RightAligned());
        var fraction = progress.ChunksKnown == 0 ? 0 : Math.Min(1, (double)progress.ChunksDone / progress.ChunksKnown);
        table.AddRow("chunks", $"{progress.ChunksDone} / {progress.ChunksKnown}  [green]{new string('█', (int)(fraction * 30))}[/][grey]{new string('░', 30 - (int)(fraction * 30))}[/]");
        table.AddRow("documents read / skipped", $"{progress.DocumentsRead} / {progress.Problems.Count}");
        table.AddRow("accepted", Markup.Escape(Accepted));
        table.AddRow("requests in flight", progress.Teacher.InFlight.ToString(CultureInfo.InvariantCulture));
        table.AddRow("generated tokens/s", progress.Teacher.TokensPerSecond.ToString("F0", CultureInfo.InvariantCulture));
        table.AddRow("chunks/min", progress.ChunksPerMinute.ToString("F1", CultureInfo.InvariantCulture));
        table.AddRow("engine", string.Create(CultureInfo.InvariantCulture, $"queue {e.QueueDepth}, active {e.ActiveSequences}, KV {e.KvUse:P0}"));
        table.AddRow("elapsed / ETA", $"{progress.Elapsed:hh\\:mm\\:ss} / {Eta}");
        foreach (var (reason, n) in progress.Teacher.Rejections.OrderByDescending(p => p.Value))
            table.AddRow($"[grey]rejected: {Markup.Escape(reason)}[/]", n.ToString(CultureInfo.InvariantCulture));
        return table;
    }
}

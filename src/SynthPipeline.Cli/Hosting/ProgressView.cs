using System.Globalization;
using Spectre.Console;
using SynthPipeline.Llama.Teacher;
using SynthPipeline.Pipeline.Progress;

namespace SynthPipeline.Cli.Hosting;

/// <summary>
/// Shows any run's progress while it works, from its <see cref="ProgressSnapshot"/>: on a terminal a live table (the
/// main count with a bar, the run's counters, the local engine's queue and KV use, elapsed and ETA, rejections per
/// reason); otherwise the same as one plain line every 10 seconds.
/// </summary>
internal sealed class ProgressView(IAnsiConsole console, IRunProgress progress, LlamaChatClient? engine, bool live)
{
    private static readonly TimeSpan LiveInterval = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan PlainInterval = TimeSpan.FromSeconds(10);

    public async Task ShowWhileAsync(Task run)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (live)
        {
            await console.Live(Table(progress.Snapshot())).AutoClear(false).StartAsync(async ctx =>
            {
                while (await Task.WhenAny(run, Task.Delay(LiveInterval)).ConfigureAwait(false) != run)
                    ctx.UpdateTarget(Table(progress.Snapshot()));
                ctx.UpdateTarget(Table(progress.Snapshot()));
            }).ConfigureAwait(false);
        }
        else
        {
            while (await Task.WhenAny(run, Task.Delay(PlainInterval)).ConfigureAwait(false) != run)
                console.WriteLine(Line(progress.Snapshot()));
            console.WriteLine(Line(progress.Snapshot()));
        }
        await run.ConfigureAwait(false);
    }

    private IEnumerable<ProgressRow> Rows(ProgressSnapshot s)
    {
        foreach (var row in s.Rows) yield return row;
        if (engine?.Metrics() is { } e)
            yield return new ProgressRow("engine", string.Create(CultureInfo.InvariantCulture, $"queue {e.QueueDepth}, active {e.ActiveSequences}, KV {e.KvUse:P0}"));
    }

    private static string Time(TimeSpan? t) => t is { } v ? v.ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture) : "?";

    internal string Line(ProgressSnapshot s)
    {
        var rows = string.Join(", ", Rows(s).Select(r => $"{r.Label} {r.Value}"));
        var line = $"[{Time(s.Elapsed)}] {s.Unit} {s.Done}/{s.Total}, {rows}, ETA {Time(s.Remaining)}";
        var rejections = string.Join(", ", s.Rejections.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key} {p.Value}"));
        return rejections.Length > 0 ? $"{line}; rejected: {rejections}" : line;
    }

    private Table Table(ProgressSnapshot s)
    {
        var table = new Table().Border(TableBorder.Rounded).AddColumn(Markup.Escape(s.Title)).AddColumn(new TableColumn("").RightAligned());
        var filled = (int)((s.Total == 0 ? 0 : Math.Min(1, (double)s.Done / s.Total)) * 30);
        table.AddRow(Markup.Escape(s.Unit), $"{s.Done} / {s.Total}  [green]{new string('█', filled)}[/][grey]{new string('░', 30 - filled)}[/]");
        foreach (var row in Rows(s)) table.AddRow(Markup.Escape(row.Label), Markup.Escape(row.Value));
        table.AddRow("elapsed / ETA", $"{Time(s.Elapsed)} / {Time(s.Remaining)}");
        foreach (var (reason, n) in s.Rejections.OrderByDescending(p => p.Value))
            table.AddRow($"[grey]rejected: {Markup.Escape(reason)}[/]", n.ToString(CultureInfo.InvariantCulture));
        return table;
    }
}

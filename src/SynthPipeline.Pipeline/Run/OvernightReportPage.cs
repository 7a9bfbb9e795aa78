using System.Globalization;
using System.Xml.Linq;
using SynthPipeline.Pipeline.Eval;
using SynthPipeline.Pipeline.Report;

namespace SynthPipeline.Pipeline.Run;

/// <summary>
/// The overnight run's <c>report.html</c>: each stage with its time and result and a link to its own report, and the
/// training and evaluation loss curves from <c>train/loss.csv</c>.
/// </summary>
public static class OvernightReportPage
{
    public static string Render(string name, string folder, IReadOnlyList<StageOutcome> stages)
    {
        ArgumentNullException.ThrowIfNull(stages);
        var rows = stages.Select(s => new XElement("tr",
            new XElement("td", File.Exists(Path.Combine(folder, s.Stage, "report.html")) ? new XElement("a", new XAttribute("href", s.Stage + "/report.html"), s.Stage) : s.Stage),
            new XElement("td", new XAttribute("class", "num"), s.Elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture) + " s"),
            new XElement("td", s.Summary)));
        var page = new HtmlReport($"Overnight run: {name}")
            .Section("stages", "Stages", new XElement("table", new XElement("tr", new XElement("th", "stage"), new XElement("th", "time in the last process"), new XElement("th", "result")), rows));
        if (LossCurves.Read(Path.Combine(folder, "train")) is { } curves) page.Section("loss", "Training", curves);
        if (EvalReport.Read(Path.Combine(folder, "eval")) is var (students, description))
            page.Section("evaluation", "Evaluation on held-out probes", EvalReport.Section(students, description),
                new XElement("p", new XElement("a", new XAttribute("href", "eval/report.html"), "every probe, reply and verdict")));
        if (EvalReport.Read(Path.Combine(folder, "eval-ablate")) is var (arms, armsDescription))
            page.Section("ablation", "Ablation: what each kind of data does (synth eval --ablate)", EvalReport.Section(arms, armsDescription));
        if (EvalReport.Read(Path.Combine(folder, "loop", "eval")) is var (rounds, roundsDescription))
            page.Section("loop", "Self-improvement rounds (synth loop)", EvalReport.Section(rounds, roundsDescription), Loop.SelfImprovementLoop.Curves(rounds));
        return page.Render([], "synth run");
    }

    /// <summary>The stages as the last <c>synth run</c> process left them, kept so later commands can redraw the page.</summary>
    public const string StagesFile = "stages.json";

    /// <summary>
    /// Redraws an overnight run's <c>report.html</c> with what later commands added (evaluations, ablations, rounds);
    /// does nothing for a folder that is not a finished overnight run.
    /// </summary>
    public static void Refresh(string folder)
    {
        var stages = Path.Combine(folder, StagesFile);
        if (!File.Exists(stages)) return;
        var list = System.Text.Json.JsonSerializer.Deserialize<List<StageOutcome>>(File.ReadAllText(stages)) ?? [];
        Output.AtomicFile.WriteText(Path.Combine(folder, "report.html"), Render(Path.GetFileName(Path.GetFullPath(folder)), folder, list));
    }
}

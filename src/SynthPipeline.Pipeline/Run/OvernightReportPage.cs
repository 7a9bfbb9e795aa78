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
        var loss = Path.Combine(folder, "train", "loss.csv");
        if (File.Exists(loss))
        {
            var all = File.ReadAllLines(loss);
            var header = all[0].Split(',');
            int Column(string column) => Array.IndexOf(header, column);
            var lines = all.Skip(1).Select(l => l.Split(',')).Where(f => f.Length == header.Length).ToList();
            List<(double, double)> Series(string column) => [.. lines.Where(f => Column(column) >= 0 && f[Column(column)].Length > 0)
                .Select(f => (double.Parse(f[Column("step")], CultureInfo.InvariantCulture), double.Parse(f[Column(column)], CultureInfo.InvariantCulture)))];
            var train = Series("loss");
            var eval = Series("eval_loss");
            page.Section("loss", "Training",
                new XElement("h3", "training loss by step"), HtmlReport.Line(train, "step", "loss"),
                new XElement("h3", "evaluation loss"), eval.Count > 0 ? HtmlReport.Line(eval, "step", "eval loss") : new XElement("p", "no evaluation yet"));
        }
        if (EvalReport.Read(Path.Combine(folder, "eval")) is var (students, description))
            page.Section("evaluation", "Evaluation on held-out probes", EvalReport.Section(students, description),
                new XElement("p", new XElement("a", new XAttribute("href", "eval/report.html"), "every probe, reply and verdict")));
        return page.Render([], "synth run");
    }
}

using System.Globalization;
using System.Xml.Linq;

namespace SynthPipeline.Pipeline.Report;

/// <summary>
/// The curves of a training folder's <c>loss.csv</c> for a report: training loss by step, evaluation loss, and for a
/// DPO run the reward margin and accuracy. The same section serves <c>synth train</c>'s page and the overnight run's.
/// </summary>
public static class LossCurves
{
    /// <summary>The section's content, or null when the folder has no <c>loss.csv</c> yet.</summary>
    public static object[]? Read(string trainFolder)
    {
        var path = Path.Combine(trainFolder, "loss.csv");
        if (!File.Exists(path)) return null;
        var all = File.ReadAllLines(path);
        if (all.Length == 0) return null;
        var header = all[0].Split(',');
        var rows = all.Skip(1).Select(l => l.Split(',')).Where(f => f.Length == header.Length).ToList();
        List<(double, double)> Series(string column)
        {
            var c = Array.IndexOf(header, column);
            var step = Array.IndexOf(header, "step");
            return c < 0 ? [] : [.. rows.Where(f => f[c].Length > 0).Select(f => (double.Parse(f[step], CultureInfo.InvariantCulture), double.Parse(f[c], CultureInfo.InvariantCulture)))];
        }
        var content = new List<object>
        {
            new XElement("h3", "training loss by step"), HtmlReport.Line(Series("loss"), "step", "loss"),
            new XElement("h3", "evaluation loss"), Series("eval_loss") is { Count: > 0 } eval ? HtmlReport.Line(eval, "step", "eval loss") : new XElement("p", "no evaluation yet"),
        };
        if (Series("reward_margin") is { Count: > 0 } margin)
            content.AddRange([new XElement("h3", "DPO reward margin (chosen − rejected)"), HtmlReport.Line(margin, "step", "margin"),
                new XElement("h3", "DPO reward accuracy (share of pairs whose chosen answer wins)"), HtmlReport.Line(Series("reward_accuracy"), "step", "accuracy")]);
        return [.. content];
    }

    /// <summary><c>report.html</c> for a <c>synth train</c> folder.</summary>
    public static void WritePage(string trainFolder, string title)
    {
        var page = new HtmlReport(title);
        if (Read(trainFolder) is { } content) page.Section("loss", "Training", content);
        Output.AtomicFile.WriteText(Path.Combine(trainFolder, "report.html"), page.Render([], "synth train"));
    }
}

using System.Xml.Linq;
using SynthPipeline.Pipeline.Report;
using SynthPipeline.Pipeline.State;
using SynthPipeline.Pipeline.Teacher;

namespace SynthPipeline.Pipeline.SelfInstruct;

/// <summary>
/// The generate run's <c>report.html</c>: the funnel from answers to accepted instructions, rejection reasons, the
/// ROUGE-L of each accepted instruction against its closest neighbour (the Self-Instruct paper's figure 3), lengths,
/// leading words, teacher usage, and every accepted and rejected sample.
/// </summary>
public static class SelfInstructReportPage
{
    public static string Render(RunStore store, RunDescription run, IReadOnlyList<SelfInstructExporter.Example> examples)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(examples);
        var instructions = store.Instructions();
        var rejections = store.Rejections();
        var filtered = rejections.Count(r => r.Stage == "filter");
        var similar = rejections.Count(r => r.Stage == "novelty");
        var answers = store.UsageTotals().Where(t => t.Stage == "instruction").Sum(t => t.Requests);
        var funnel = new (string, double)[]
        {
            ("teacher answers (instruction lists)", answers),
            ("numbered items parsed", instructions.Count + filtered + similar),
            ("passed the filters", instructions.Count + similar),
            ("novel (ROUGE-L at most the threshold): accepted", instructions.Count),
            ("with examples", instructions.Count(i => i.Status == InstructionStatus.Done)),
            ("training examples", examples.Count),
        };
        var leading = instructions.Select(i => i.Text.Split(' ', 2)[0].Trim(',', '.', ':').ToLowerInvariant()).ToList();
        var page = new HtmlReport($"Dataset report: {run.RunName}")
            .Section("funnel", "Funnel", HtmlReport.Bars(funnel))
            .Section("rejections", "Rejections by stage and reason",
                HtmlReport.Bars(rejections.GroupBy(r => $"{r.Stage}: {r.Reason}").OrderByDescending(g => g.Count()).Select(g => (g.Key, (double)g.Count()))))
            .Section("rouge", "ROUGE-L to the closest earlier instruction",
                new XElement("p", "Each accepted instruction against the most similar instruction before it (seeds and accepted ones); the Self-Instruct paper's figure 3."),
                HtmlReport.Histogram([.. instructions.Select(i => i.Score)], 0, 1, 20, "ROUGE-L F"))
            .Section("lengths", "Lengths in words",
                new XElement("h3", "instructions"), HtmlReport.Histogram([.. instructions.Select(i => (double)Words(i.Text))], 0, Math.Max(10, instructions.Select(i => Words(i.Text)).DefaultIfEmpty().Max()), 20, "words"),
                new XElement("h3", "outputs"), HtmlReport.Histogram([.. examples.Select(e => (double)Words(e.Output))], 0, Math.Max(10, examples.Select(e => Words(e.Output)).DefaultIfEmpty().Max()), 20, "words"))
            .Section("diversity", "Diversity: leading words",
                new XElement("p", $"{leading.Distinct().Count()} distinct leading words over {leading.Count} instructions; the 20 most frequent:"),
                HtmlReport.Bars(leading.GroupBy(w => w).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).Take(20).Select(g => (g.Key, (double)g.Count()))))
            .Section("teacher", "Teacher usage", new XElement("p", TeacherUsageReport.Line(run.Usage)),
                new XElement("h3", "throughput over the run"), HtmlReport.Throughput(store.Throughput(40)),
                HtmlReport.Bars(run.Usage.GroupBy(u => u.Stage).Select(g => ($"{g.Key}: completion tokens", (double)g.Sum(u => u.OutputTokens)))));
        var samples = instructions.Select(i => new ReportSample(true, "instruction", "", i.Text, $"prompt {i.PromptIndex}"))
            .Concat(rejections.Select(r => new ReportSample(false, r.Stage, r.Reason, r.Text, r.Source))).ToList();
        return page.Render(samples, $"synth generate · teacher: {run.Teacher}");
    }

    private static int Words(string s) => s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
}

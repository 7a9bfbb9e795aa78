using System.Xml.Linq;
using SynthPipeline.Pipeline.Report;
using SynthPipeline.Pipeline.State;
using SynthPipeline.Pipeline.Teacher;

namespace SynthPipeline.Pipeline.Augment;

/// <summary>
/// The augment run's <c>report.html</c>: generated and accepted per kind, rejection reasons, the mix of kinds and
/// conversation lengths, answer lengths, teacher usage, and every accepted and rejected sample with its provenance.
/// </summary>
public static class AugmentReportPage
{
    public static string Render(AugmentDescription run, IReadOnlyList<StoredExample> examples, IReadOnlyList<StoredRejection> rejections,
        IReadOnlyList<AugmentExporter.Conversation> conversations, IReadOnlyList<ThroughputBucket> throughput)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentNullException.ThrowIfNull(rejections);
        ArgumentNullException.ThrowIfNull(conversations);
        var kinds = Enum.GetValues<Core.Augment.ExampleKind>().Select(AugmentExporter.Kind).ToList();
        var page = new HtmlReport($"Dataset report: {run.RunName}")
            .Section("funnel", "Generated and accepted, per kind",
                HtmlReport.Bars(kinds.SelectMany(k => new[]
                {
                    ($"{k}: generated", (double)(examples.Count(e => AugmentExporter.Kind(e.Kind) == k) + rejections.Count(r => r.Stage == k))),
                    ($"{k}: accepted", (double)examples.Count(e => AugmentExporter.Kind(e.Kind) == k)),
                })))
            .Section("rejections", "Rejections by kind and reason",
                HtmlReport.Bars(rejections.GroupBy(r => $"{r.Stage}: {r.Reason}").OrderByDescending(g => g.Count()).Select(g => (g.Key, (double)g.Count()))))
            .Section("mix", "Mix",
                new XElement("h3", "accepted examples by kind"), HtmlReport.Bars(kinds.Select(k => (k, (double)examples.Count(e => AugmentExporter.Kind(e.Kind) == k)))),
                new XElement("h3", "conversations by number of exchanges"),
                HtmlReport.Bars(conversations.GroupBy(c => c.Examples.Count).OrderBy(g => g.Key).Select(g => ($"{g.Key} exchange(s)", (double)g.Count()))))
            .Section("lengths", "Answer lengths in words",
                HtmlReport.Histogram([.. examples.Select(e => (double)Words(e.Answer))], 0, Math.Max(10, examples.Select(e => Words(e.Answer)).DefaultIfEmpty().Max()), 20, "words"))
            .Section("teacher", "Teacher usage", new XElement("p", TeacherUsageReport.Line(run.Usage)),
                new XElement("h3", "throughput over the run"), HtmlReport.Throughput(throughput),
                HtmlReport.Bars(run.Usage.GroupBy(u => u.Stage).Select(g => ($"{g.Key}: completion tokens", (double)g.Sum(u => u.OutputTokens)))));
        var samples = examples.Select(e => new ReportSample(true, AugmentExporter.Kind(e.Kind), "", $"Q: {e.Question}\nA: {e.Answer}", $"{e.File}#{e.Chunk} [{e.SpanStart}, {e.SpanEnd})"))
            .Concat(rejections.Select(r => new ReportSample(false, r.Stage, r.Reason, r.Text, r.Source))).ToList();
        return page.Render(samples, $"synth augment · teacher: {run.Teacher}");
    }

    private static int Words(string s) => s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
}

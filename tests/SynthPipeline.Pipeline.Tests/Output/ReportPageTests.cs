using System.Xml.Linq;
using SynthPipeline.Pipeline.Augment;
using SynthPipeline.Pipeline.Report;
using SynthPipeline.Pipeline.Tests.SelfInstruct;

namespace SynthPipeline.Pipeline.Tests.Output;

/// <summary>
/// report.html's structure, read with an XML parser: every section, charts, a sample row per accepted and rejected
/// record, and nothing fetched from the network. (bench/report-in-chromium.sh loads the same pages in headless Chromium.)
/// </summary>
public sealed class ReportPageTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("synth-report-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static XElement Page(string path)
    {
        var html = File.ReadAllText(path);
        Assert.StartsWith("<!DOCTYPE html>\n", html, StringComparison.Ordinal);
        var root = XElement.Parse(html["<!DOCTYPE html>\n".Length..]);
        // Self-contained: no script, style, image or link fetched from anywhere.
        Assert.DoesNotContain(root.Descendants(), e => e.Attribute("src") is not null || (e.Name.LocalName == "link"));
        Assert.DoesNotContain(root.Descendants("a"), a => a.Attribute("href")!.Value.Contains("://", StringComparison.Ordinal));
        // The script is written without the characters XML would escape, so it reaches the browser as written.
        var script = root.Descendants("script").Single().Value;
        Assert.DoesNotContain('<', script);
        Assert.DoesNotContain('&', script);
        return root;
    }

    private static IEnumerable<XElement> Rows(XElement page) =>
        page.Descendants("table").Single(t => (string?)t.Attribute("id") == "sample-table").Element("tbody")!.Elements("tr");

    [Fact]
    public async Task GenerateReport_HasTheFunnelChartsAndARowPerAcceptedAndRejectedRecord()
    {
        using var store = State.RunStore.Open(await ReportRuns.GenerateAsync(_dir, SelfInstructRunTests.SelfInstructTeacher()));

        var page = Page(Path.Combine(_dir, "g", "report.html"));

        var sections = page.Descendants("section").Select(s => (string)s.Attribute("id")!).ToList();
        Assert.Equal(["funnel", "rejections", "rouge", "lengths", "diversity", "teacher", "samples"], sections);
        XNamespace svg = "http://www.w3.org/2000/svg";
        var rouge = page.Descendants("section").Single(s => (string?)s.Attribute("id") == "rouge").Descendants(svg + "rect").ToList();
        Assert.Equal(20, rouge.Count);
        Assert.Equal(store.Instructions().Count, rouge.Sum(r => int.Parse(r.Element(svg + "title")!.Value.Split(": ")[1], System.Globalization.CultureInfo.InvariantCulture)));
        var rows = Rows(page).ToList();
        Assert.Equal(store.Instructions().Count, rows.Count(r => (string?)r.Attribute("class") == "accepted"));
        Assert.Equal(store.Rejections().Count, rows.Count(r => (string?)r.Attribute("class") == "rejected"));
        Assert.Contains(rows, r => (string?)r.Attribute("data-reason") == "blacklisted_keyword");
        Assert.Contains(page.Descendants("option"), o => (string?)o.Attribute("value") == "reason:blacklisted_keyword");
        // Throughput over the run: a line once answers arrived over time, with every answer in a bucket.
        var throughput = store.Throughput(40);
        Assert.Equal(store.UsageTotals().Sum(t => t.Requests), throughput.Sum(b => b.Answers));
        Assert.Equal(store.UsageTotals().Sum(t => t.OutputTokens), throughput.Sum(b => b.OutputTokens));
    }

    [Fact]
    public void Line_SaysTheRangeOfBothAxes()
    {
        XNamespace svg = "http://www.w3.org/2000/svg";
        var texts = HtmlReport.Line([(3, 1.5), (7, 2.25), (12, 0.5)], "step", "loss").Elements(svg + "text").Select(t => t.Value).ToList();
        Assert.Equal(["step, 3 to 12", "loss 2.25", "0.5"], texts);
    }

    [Fact]
    public async Task AugmentReport_HasKindsMixAndProvenanceInEverySample()
    {
        using var store = State.RunStore.Open(await ReportRuns.AugmentAsync(_dir));

        var page = Page(Path.Combine(_dir, "a", "report.html"));

        Assert.Equal(["funnel", "rejections", "mix", "lengths", "teacher", "samples"], page.Descendants("section").Select(s => (string)s.Attribute("id")!));
        var accepted = Rows(page).Where(r => (string?)r.Attribute("class") == "accepted").ToList();
        Assert.NotEmpty(accepted);
        Assert.All(accepted, r => Assert.Matches(@"#\d+ \[\d+, \d+\)$", r.Elements("td").Last().Value));
        Assert.Equal(store.Rejections().Count, Rows(page).Count(r => (string?)r.Attribute("class") == "rejected") - AugmentExporter.Deduplicate(store.Examples(), 0.7).NearDuplicates.Count);
    }
}

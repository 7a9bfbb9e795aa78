using System.Xml.Linq;
using PuppeteerSharp;

namespace SynthPipeline.Pipeline.Tests.Output;

/// <summary>
/// report.html as a person meets it: loaded from disk in headless Chromium, its script run by the browser, typed into
/// and filtered there, laid out at a laptop's width. Which rows a filter must leave is worked out from the page's own
/// markup (<see cref="ReportPageTests"/> checks that markup against the run store), so the browser's answer is checked
/// against an independent reading, not against the script's own logic.
/// </summary>
public sealed class ReportInBrowserTests(ChromiumBrowser chromium) : IClassFixture<ChromiumBrowser>, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("synth-report-browser-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A link a real teacher writes: one unbroken 300-character token, which must wrap rather than widen the page.</summary>
    private static readonly string LongUrl = "https://example.org/download?token=" + string.Concat(Enumerable.Repeat("3f9a0c7e", 33));

    private static ScriptedTeacher TeacherWithLongTokens()
    {
        var inner = Tests.SelfInstruct.SelfInstructRunTests.SelfInstructTeacher();
        return new ScriptedTeacher(prompt => inner.Answer(prompt).Replace("Draw a picture of", "Draw a picture from " + LongUrl + " of", StringComparison.Ordinal));
    }

    private async Task<string> GenerateReportAsync() => Path.Combine(await ReportRuns.GenerateAsync(_dir, TeacherWithLongTokens()), "report.html");

    private async Task<string> AugmentReportAsync() => Path.Combine(await ReportRuns.AugmentAsync(_dir), "report.html");

    /// <summary>The sample rows as the markup holds them: class, reason and the row's whole text, in order.</summary>
    private static List<(bool Accepted, string Reason, string Text)> MarkupRows(string path)
    {
        var root = XElement.Parse(File.ReadAllText(path)["<!DOCTYPE html>\n".Length..]);
        return root.Descendants("table").Single(t => (string?)t.Attribute("id") == "sample-table").Element("tbody")!.Elements("tr")
            .Select(r => ((string)r.Attribute("class")! == "accepted", (string)r.Attribute("data-reason")!, r.Value))
            .ToList();
    }

    private static List<int> Matching(List<(bool Accepted, string Reason, string Text)> rows, Func<(bool Accepted, string Reason, string Text), bool> keep) =>
        [.. rows.Select((r, i) => (r, i)).Where(x => keep(x.r)).Select(x => x.i)];

    /// <summary>A page with every console message and uncaught error it produces recorded.</summary>
    private sealed class ReportTab(IPage page) : IAsyncDisposable
    {
        public IPage Page { get; } = page;

        public List<string> Problems { get; } = [];

        public async ValueTask DisposeAsync() => await Page.CloseAsync();

        public Task<int> ShownAsync() => Page.EvaluateExpressionAsync<int>("Number(document.getElementById('shown').textContent)");

        /// <summary>Waits until the page says it shows <paramref name="count"/> rows, then returns the indices of the rows it displays.</summary>
        public async Task<List<int>> VisibleRowsOnceShownAsync(int count)
        {
            try
            {
                await Page.WaitForFunctionAsync($"() => document.getElementById('shown').textContent === '{count}'");
            }
            catch (WaitTaskTimeoutException)
            {
                Assert.Fail($"the page never said it shows {count} rows; it says {await ShownAsync()} ({string.Join("; ", Problems)})");
            }
            var visible = await Page.EvaluateExpressionAsync<int[]>(
                "Array.prototype.slice.call(document.querySelectorAll('#sample-table tbody tr'))" +
                ".map(function (r, i) { return r.offsetParent === null ? -1 : i; }).filter(function (i) { return i >= 0; })");
            return [.. visible];
        }
    }

    private async Task<ReportTab> OpenAsync(string path, string query = "")
    {
        var tab = new ReportTab(await chromium.Browser.NewPageAsync());
        tab.Page.Console += (_, e) => tab.Problems.Add($"console {e.Message.Type}: {e.Message.Text}");
        tab.Page.PageError += (_, e) => tab.Problems.Add("uncaught: " + e.Message);
        await tab.Page.SetViewportAsync(new ViewPortOptions { Width = 1280, Height = 900 });
        await tab.Page.GoToAsync(new Uri(path).AbsoluteUri + query, WaitUntilNavigation.Load);
        return tab;
    }

    [Fact]
    public async Task GenerateReport_TypedIntoAndFilteredByReason_ShowsExactlyTheMatchingRows()
    {
        var path = await GenerateReportAsync();
        var rows = MarkupRows(path);
        await using var tab = await OpenAsync(path);

        Assert.Equal(Enumerable.Range(0, rows.Count).ToList(), await tab.VisibleRowsOnceShownAsync(rows.Count));
        // A word some accepted and some rejected rows hold, so that both filters below narrow the table.
        var word = rows.SelectMany(r => r.Text.ToLowerInvariant().Split(' ', '.', '\n')).Where(w => w.Length > 3).Distinct()
            .First(w => rows.Any(r => r.Accepted && r.Text.Contains(w, StringComparison.OrdinalIgnoreCase))
                        && rows.Any(r => !r.Accepted && r.Text.Contains(w, StringComparison.OrdinalIgnoreCase))
                        && rows.Any(r => !r.Text.Contains(w, StringComparison.OrdinalIgnoreCase)));

        await tab.Page.TypeAsync("#search", word.ToUpperInvariant());
        var withWord = Matching(rows, r => r.Text.Contains(word, StringComparison.OrdinalIgnoreCase));
        Assert.Equal(withWord, await tab.VisibleRowsOnceShownAsync(withWord.Count));

        await tab.Page.SelectAsync("#reason", "rejected");
        var rejectedWithWord = Matching(rows, r => !r.Accepted && r.Text.Contains(word, StringComparison.OrdinalIgnoreCase));
        Assert.Equal(rejectedWithWord, await tab.VisibleRowsOnceShownAsync(rejectedWithWord.Count));

        // Clearing the box keeps the reason filter.
        await tab.Page.EvaluateExpressionAsync("var s = document.getElementById('search'); s.value = ''; s.dispatchEvent(new Event('input'))");
        await tab.Page.SelectAsync("#reason", "reason:blacklisted_keyword");
        var blacklisted = Matching(rows, r => r.Reason == "blacklisted_keyword");
        Assert.NotEmpty(blacklisted);
        Assert.Equal(blacklisted, await tab.VisibleRowsOnceShownAsync(blacklisted.Count));
        Assert.Empty(tab.Problems);
    }

    [Fact]
    public async Task GenerateReport_OpenedWithAQuery_StartsFilteredWithTheQueryInTheBox()
    {
        var path = await GenerateReportAsync();
        var rows = MarkupRows(path);
        await using var tab = await OpenAsync(path, "?q=blacklisted_keyword");

        var expected = Matching(rows, r => r.Text.Contains("blacklisted_keyword", StringComparison.OrdinalIgnoreCase));
        Assert.NotEmpty(expected);
        Assert.True(expected.Count < rows.Count);
        Assert.Equal(expected, await tab.VisibleRowsOnceShownAsync(expected.Count));
        Assert.Equal("blacklisted_keyword", await tab.Page.EvaluateExpressionAsync<string>("document.getElementById('search').value"));
        Assert.Empty(tab.Problems);
    }

    [Fact]
    public async Task GenerateReport_AtALaptopsWidth_DrawsEveryChartAndWrapsLongTokensInsteadOfWideningThePage()
    {
        var path = await GenerateReportAsync();
        Assert.Contains(LongUrl, File.ReadAllText(path), StringComparison.Ordinal);
        await using var tab = await OpenAsync(path);

        var charts = await tab.Page.EvaluateExpressionAsync<double[][]>(
            "Array.prototype.slice.call(document.querySelectorAll('svg')).map(function (s) { var b = s.getBoundingClientRect(); return [b.width, b.height, b.right]; })");
        Assert.NotEmpty(charts);
        Assert.All(charts, c => Assert.True(c[0] > 50 && c[1] > 50 && c[2] <= 1280, $"a chart drawn at {c[0]}x{c[1]} ending at x={c[2]}"));
        // The page scrolls down, never sideways: a 300-character URL in a sample wraps inside its cell.
        var (scroll, client) = (await tab.Page.EvaluateExpressionAsync<int>("document.documentElement.scrollWidth"),
            await tab.Page.EvaluateExpressionAsync<int>("document.documentElement.clientWidth"));
        Assert.True(scroll <= client, $"the page is {scroll} px wide in a {client} px window");
        Assert.Empty(tab.Problems);
    }

    [Fact]
    public async Task AugmentReport_FilteredByKindOfRow_ShowsAcceptedAndRejectedApart()
    {
        var path = await AugmentReportAsync();
        var rows = MarkupRows(path);
        await using var tab = await OpenAsync(path);
        Assert.Equal(rows.Count, await tab.ShownAsync());

        await tab.Page.SelectAsync("#reason", "accepted");
        var accepted = Matching(rows, r => r.Accepted);
        Assert.NotEmpty(accepted);
        Assert.Equal(accepted, await tab.VisibleRowsOnceShownAsync(accepted.Count));

        await tab.Page.SelectAsync("#reason", "rejected");
        var rejected = Matching(rows, r => !r.Accepted);
        Assert.NotEmpty(rejected);
        Assert.Equal(rejected, await tab.VisibleRowsOnceShownAsync(rejected.Count));
        Assert.Empty(tab.Problems);
    }
}

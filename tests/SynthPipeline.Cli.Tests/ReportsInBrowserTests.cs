using PuppeteerSharp;
using SynthPipeline.Pipeline.Tests.Output;

namespace SynthPipeline.Cli.Tests;

/// <summary>
/// The morning's first look: the overnight run's report.html opened in headless Chromium, and every page it links to
/// followed there, as a person clicking through would. Each must load from disk with no script error, draw its charts
/// and fit a laptop's width.
/// </summary>
public sealed class ReportsInBrowserTests(ChromiumBrowser chromium) : IClassFixture<ChromiumBrowser>
{
    [Fact]
    public async Task RunReport_EveryLinkedStagePage_LoadsWithoutErrorsDrawsItsChartsAndFitsTheWindow()
    {
        var dir = SynthProcess.ScratchDirectory();
        var r = await SynthProcess.RunAsync(dir, RunFixtures.Deterministic(),
            ["run", "--run-name", "night", "--corpus", RunFixtures.Corpus(dir), "--count", "6", "--train-steps", "4"]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        var run = Path.Combine(dir, "output", "night");

        var page = await chromium.Browser.NewPageAsync();
        var problems = new List<string>();
        page.Console += (_, e) => problems.Add($"{page.Url}: console {e.Message.Type}: {e.Message.Text}");
        page.PageError += (_, e) => problems.Add($"{page.Url}: uncaught {e.Message}");
        await page.SetViewportAsync(new ViewPortOptions { Width = 1280, Height = 900 });
        try
        {
            await page.GoToAsync(new Uri(Path.Combine(run, "report.html")).AbsoluteUri, WaitUntilNavigation.Load);
            var links = await page.EvaluateExpressionAsync<string[]>(
                "Array.prototype.slice.call(document.querySelectorAll('a[href]')).map(function (a) { return a.href; })");
            var stagePages = links.Select(l => new Uri(l)).ToList();
            Assert.All(stagePages, u => Assert.True(u.IsFile, $"{u} leaves the run folder"));
            Assert.Equal(["augment/report.html", "eval/report.html", "generate/report.html", "train/report.html"],
                stagePages.Select(u => Path.GetRelativePath(run, u.LocalPath).Replace('\\', '/')).Distinct().Order(StringComparer.Ordinal));

            foreach (var target in new[] { new Uri(Path.Combine(run, "report.html")) }.Concat(stagePages))
            {
                Assert.True(File.Exists(target.LocalPath), $"{target} links to a file that is not there");
                await page.GoToAsync(target.AbsoluteUri, WaitUntilNavigation.Load);
                var where = Path.GetRelativePath(run, target.LocalPath);
                Assert.False(string.IsNullOrWhiteSpace(await page.EvaluateExpressionAsync<string>("document.querySelector('h1').textContent")), where + " has no heading");
                var charts = await page.EvaluateExpressionAsync<double[][]>(
                    "Array.prototype.slice.call(document.querySelectorAll('svg')).map(function (s) { var b = s.getBoundingClientRect(); return [b.width, b.height]; })");
                Assert.All(charts, c => Assert.True(c[0] > 50 && c[1] > 50, $"{where}: a chart drawn at {c[0]}x{c[1]}"));
                var (scroll, client) = (await page.EvaluateExpressionAsync<int>("document.documentElement.scrollWidth"),
                    await page.EvaluateExpressionAsync<int>("document.documentElement.clientWidth"));
                Assert.True(scroll <= client, $"{where} is {scroll} px wide in a {client} px window");
            }
            // The evaluation page's table is what answers "did this data help?": it must be on screen, not only in the markup.
            await page.GoToAsync(new Uri(Path.Combine(run, "eval", "report.html")).AbsoluteUri, WaitUntilNavigation.Load);
            Assert.True(await page.EvaluateExpressionAsync<bool>("document.getElementById('eval-table').getBoundingClientRect().height > 0"));
            Assert.Empty(problems);
        }
        finally
        {
            await page.CloseAsync();
        }
    }
}

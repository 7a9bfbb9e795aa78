using PuppeteerSharp;

namespace SynthPipeline.Pipeline.Tests.Output;

/// <summary>
/// One headless Chromium for a test class: the browser a person opens report.html in. It is the machine's own
/// Chromium (Debian's <c>chromium</c>, which <c>.ci/run</c> installs when missing; <c>SYNTH_CHROMIUM</c> names
/// another), driven over the DevTools protocol; nothing is downloaded.
/// </summary>
public sealed class ChromiumBrowser : IAsyncLifetime
{
    private IBrowser? _browser;

    /// <summary>The running browser.</summary>
    public IBrowser Browser => _browser ?? throw new InvalidOperationException("the browser is not started");

    public async Task InitializeAsync()
    {
        var path = Find() ?? throw new InvalidOperationException(
            "no Chromium found for the report-in-a-browser tests: install Debian's package (apt-get install chromium; .ci/run does) " +
            "or set SYNTH_CHROMIUM to a Chromium or Chrome executable");
        _browser = await Puppeteer.LaunchAsync(new LaunchOptions
        {
            ExecutablePath = path,
            Headless = true,
            // Tests run as root on CI, where Chromium's sandbox refuses to start.
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        });
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null) await _browser.DisposeAsync();
    }

    private static string? Find()
    {
        if (Environment.GetEnvironmentVariable("SYNTH_CHROMIUM") is { Length: > 0 } configured) return configured;
        // Debian's /usr/bin/chromium is a shell wrapper around this binary; the binary itself starts faster and quieter.
        if (File.Exists("/usr/lib/chromium/chromium")) return "/usr/lib/chromium/chromium";
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        return (from dir in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
                from name in new[] { "chromium", "chromium-browser", "google-chrome", "google-chrome-stable" }
                let candidate = Path.Combine(dir, name)
                where File.Exists(candidate)
                select candidate).FirstOrDefault();
    }
}

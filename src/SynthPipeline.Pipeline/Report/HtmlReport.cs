using System.Globalization;
using System.Xml.Linq;

namespace SynthPipeline.Pipeline.Report;

/// <summary>A row of the report's sample table: accepted or rejected, its kind or stage, the reason, the text and where it came from.</summary>
public sealed record ReportSample(bool Accepted, string Kind, string Reason, string Text, string Source);

/// <summary>
/// <c>report.html</c>: one self-contained page (inline SVG charts, inline CSS and script, no network) that a person
/// reads in the morning. Sections are added by the run that writes it; the page ends with a searchable, filterable
/// table of accepted and rejected samples (<c>report.html?q=word</c> opens it filtered). Built as XML, so it is
/// well-formed by construction; the script avoids the characters XML would escape.
/// </summary>
public sealed class HtmlReport(string title)
{
    private readonly List<XElement> _sections = [];

    public HtmlReport Section(string id, string heading, params object[] content)
    {
        _sections.Add(new XElement("section", new XAttribute("id", id), new XElement("h2", heading), content));
        return this;
    }

    /// <summary>A two-column table of label and number, with a bar for each number.</summary>
    public static XElement Bars(IEnumerable<(string Label, double Value)> rows, string valueFormat = "N0")
    {
        var list = rows.ToList();
        var max = list.Count == 0 ? 1 : Math.Max(1e-9, list.Max(r => r.Value));
        return new XElement("table", new XAttribute("class", "bars"),
            list.Select(r => new XElement("tr",
                new XElement("td", r.Label),
                new XElement("td", new XAttribute("class", "num"), r.Value.ToString(valueFormat, CultureInfo.InvariantCulture)),
                new XElement("td", new XElement("div", new XAttribute("class", "bar"), new XAttribute("style", FormattableString.Invariant($"width:{100 * r.Value / max:F1}%")))))));
    }

    /// <summary>A histogram of <paramref name="values"/> in <paramref name="bins"/> equal bins over [<paramref name="min"/>, <paramref name="max"/>], as SVG.</summary>
    public static XElement Histogram(IReadOnlyList<double> values, double min, double max, int bins, string xLabel)
    {
        ArgumentNullException.ThrowIfNull(values);
        var counts = new int[bins];
        foreach (var v in values) counts[Math.Clamp((int)((v - min) / (max - min) * bins), 0, bins - 1)]++;
        const int width = 520, height = 180, left = 40, bottom = 30;
        var top = Math.Max(1, counts.Max());
        var barWidth = (width - left) / (double)bins;
        XNamespace svg = "http://www.w3.org/2000/svg";
        var bars = counts.Select((c, i) => new XElement(svg + "rect",
            new XAttribute("class", "hist-bar"),
            new XAttribute("x", F(left + i * barWidth)), new XAttribute("width", F(barWidth - 1)),
            new XAttribute("y", F(height - bottom - (height - bottom - 10) * c / (double)top)), new XAttribute("height", F((height - bottom - 10) * c / (double)top)),
            new XElement(svg + "title", FormattableString.Invariant($"{min + i * (max - min) / bins:0.##}–{min + (i + 1) * (max - min) / bins:0.##}: {c}"))));
        return new XElement(svg + "svg", new XAttribute("width", width), new XAttribute("height", height), new XAttribute("role", "img"),
            bars,
            new XElement(svg + "text", new XAttribute("x", left), new XAttribute("y", height - 8), F(min)),
            new XElement(svg + "text", new XAttribute("x", width - 30), new XAttribute("y", height - 8), F(max)),
            new XElement(svg + "text", new XAttribute("x", width / 2 - 40), new XAttribute("y", height - 8), xLabel),
            new XElement(svg + "text", new XAttribute("x", 0), new XAttribute("y", 14), top.ToString(CultureInfo.InvariantCulture)));
    }

    /// <summary>A line chart of (x, y) points, as SVG (loss curves).</summary>
    public static XElement Line(IReadOnlyList<(double X, double Y)> points, string xLabel, string yLabel)
    {
        ArgumentNullException.ThrowIfNull(points);
        XNamespace svg = "http://www.w3.org/2000/svg";
        const int width = 520, height = 200, left = 50, bottom = 30;
        if (points.Count == 0) return new XElement("p", "no points");
        double x0 = points.Min(p => p.X), x1 = Math.Max(points.Max(p => p.X), x0 + 1), y0 = points.Min(p => p.Y), y1 = Math.Max(points.Max(p => p.Y), y0 + 1e-9);
        var path = string.Join(" ", points.Select((p, i) => FormattableString.Invariant(
            $"{(i == 0 ? "M" : "L")}{left + (width - left - 10) * (p.X - x0) / (x1 - x0):F1},{height - bottom - (height - bottom - 10) * (p.Y - y0) / (y1 - y0):F1}")));
        return new XElement(svg + "svg", new XAttribute("width", width), new XAttribute("height", height), new XAttribute("role", "img"),
            new XElement(svg + "path", new XAttribute("class", "line"), new XAttribute("d", path)),
            // The x range rides in the axis label: the chart is read as "how did it go from first to last".
            new XElement(svg + "text", new XAttribute("x", left), new XAttribute("y", height - 8), FormattableString.Invariant($"{xLabel}, {x0:0.##} to {points.Max(p => p.X):0.##}")),
            new XElement(svg + "text", new XAttribute("x", 0), new XAttribute("y", 14), FormattableString.Invariant($"{yLabel} {y1:0.###}")),
            new XElement(svg + "text", new XAttribute("x", 0), new XAttribute("y", height - bottom), FormattableString.Invariant($"{y0:0.###}")));
    }

    /// <summary>Teacher throughput over the run: completion tokens per second in each time bucket, as a line.</summary>
    public static XElement Throughput(IReadOnlyList<State.ThroughputBucket> buckets)
    {
        ArgumentNullException.ThrowIfNull(buckets);
        if (buckets.Count < 2) return new XElement("p", "too few answers with times to draw");
        return Line([.. buckets.Select(b => (b.StartSeconds, b.OutputTokens / b.WidthSeconds))], "seconds since the first answer", "completion tokens/s");
    }

    /// <summary>The page, with the sample table last.</summary>
    public string Render(IReadOnlyList<ReportSample> samples, string generated)
    {
        ArgumentNullException.ThrowIfNull(samples);
        var reasons = samples.Select(s => s.Reason).Where(r => r.Length > 0).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        var table = new XElement("section", new XAttribute("id", "samples"),
            new XElement("h2", "Samples"),
            new XElement("p",
                new XElement("input", new XAttribute("id", "search"), new XAttribute("type", "search"), new XAttribute("placeholder", "search text, reason or source")),
                " ",
                new XElement("select", new XAttribute("id", "reason"),
                    new XElement("option", new XAttribute("value", ""), "every row"),
                    new XElement("option", new XAttribute("value", "accepted"), "accepted only"),
                    new XElement("option", new XAttribute("value", "rejected"), "rejected only"),
                    reasons.Select(r => new XElement("option", new XAttribute("value", "reason:" + r), r))),
                " ", new XElement("span", new XAttribute("id", "shown"), samples.Count.ToString(CultureInfo.InvariantCulture)), " rows shown"),
            new XElement("table", new XAttribute("id", "sample-table"),
                new XElement("thead", new XElement("tr", new XElement("th", "status"), new XElement("th", "kind or stage"), new XElement("th", "reason"),
                    new XElement("th", "text"), new XElement("th", "source"))),
                new XElement("tbody", samples.Select(s => new XElement("tr",
                    new XAttribute("class", s.Accepted ? "accepted" : "rejected"), new XAttribute("data-reason", s.Reason),
                    new XElement("td", s.Accepted ? "accepted" : "rejected"), new XElement("td", s.Kind), new XElement("td", s.Reason),
                    new XElement("td", s.Text), new XElement("td", s.Source))))));
        var html = new XElement("html", new XAttribute("lang", "en"),
            new XElement("head",
                new XElement("meta", new XAttribute("charset", "utf-8")),
                new XElement("title", title),
                new XElement("style", Style)),
            new XElement("body",
                new XElement("h1", title),
                new XElement("p", new XAttribute("class", "generated"), generated),
                _sections, table,
                new XElement("script", Script)));
        // Model text can hold control characters (a random-weight model's noise) that XML cannot carry.
        foreach (var text in html.DescendantNodes().OfType<XText>()) text.Value = XmlSafe(text.Value);
        foreach (var attribute in html.Descendants().Attributes()) attribute.Value = XmlSafe(attribute.Value);
        return "<!DOCTYPE html>\n" + html.ToString(SaveOptions.DisableFormatting);
    }

    /// <summary><paramref name="text"/> with every character XML 1.0 forbids replaced by U+FFFD.</summary>
    public static string XmlSafe(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.All(System.Xml.XmlConvert.IsXmlChar)) return text;
        var b = new System.Text.StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                b.Append(text, i++, 2);
                continue;
            }
            b.Append(System.Xml.XmlConvert.IsXmlChar(text[i]) ? text[i] : '\uFFFD');
        }
        return b.ToString();
    }

    private static string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);

    private const string Style = """
        body { font-family: system-ui, sans-serif; margin: 2em; max-width: 1100px; color: #222; }
        h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
        table { border-collapse: collapse; }
        td, th { padding: .2em .6em; vertical-align: top; text-align: left; }
        td { overflow-wrap: anywhere; }
        #search { width: 22em; }
        .num { text-align: right; font-variant-numeric: tabular-nums; }
        table.bars td:last-child { width: 320px; }
        .bar { background: #4a7bd0; height: .8em; }
        .hist-bar { fill: #4a7bd0; }
        .line { fill: none; stroke: #c0392b; stroke-width: 2; }
        #sample-table td:nth-child(4) { max-width: 560px; white-space: pre-wrap; }
        #sample-table tr.rejected td:first-child { color: #a33; }
        #sample-table tr.accepted td:first-child { color: #2a7; }
        .generated { color: #666; }
        """;

    // No '<' or '&' anywhere: the page is serialized as XML, which would escape them inside the script.
    private const string Script = """
        (function () {
          var search = document.getElementById('search');
          var reason = document.getElementById('reason');
          var shown = document.getElementById('shown');
          var rows = Array.prototype.slice.call(document.querySelectorAll('#sample-table tbody tr'));
          function apply() {
            var q = search.value.toLowerCase();
            var r = reason.value;
            var n = 0;
            rows.forEach(function (row) {
              var ok = q === '' || row.textContent.toLowerCase().indexOf(q) !== -1;
              if (ok) {
                if (r === 'accepted') { ok = row.className === 'accepted'; }
                else if (r === 'rejected') { ok = row.className === 'rejected'; }
                else if (r.indexOf('reason:') === 0) { ok = row.getAttribute('data-reason') === r.substring(7); }
              }
              row.style.display = ok ? '' : 'none';
              if (ok) { n += 1; }
            });
            shown.textContent = String(n);
          }
          search.addEventListener('input', apply);
          reason.addEventListener('change', apply);
          var initial = new URLSearchParams(window.location.search).get('q');
          if (initial) { search.value = initial; }
          apply();
        })();
        """;
}

using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Xml.Linq;
using SynthPipeline.Pipeline.Output;
using SynthPipeline.Pipeline.Report;

namespace SynthPipeline.Pipeline.Eval;

/// <summary>What an evaluation was, for its outputs: the judge, the probes, and whether demo weights make it plumbing only.</summary>
public sealed record EvalDescription(string Judge, string Probes, bool Demo);

/// <summary>
/// An evaluation's outputs: <c>eval.json</c> (every metric of every student, and every scored reply), <c>eval.md</c>
/// (the side-by-side table) and <c>report.html</c>; <see cref="Section"/> is the same table for the overnight report.
/// </summary>
public static class EvalReport
{
    public const string DemoCaveat = "The student and judge are the demo model (random weights): these figures measure the plumbing and its speed, not what the data does to a model. Users with real weights get the real table.";

    public static void Write(string folder, IReadOnlyList<StudentMetrics> students, IReadOnlyList<ProbeScore> scores, EvalDescription description)
    {
        ArgumentNullException.ThrowIfNull(students);
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(description);
        Directory.CreateDirectory(folder);
        var json = new JsonObject
        {
            ["judge"] = description.Judge,
            ["probes"] = description.Probes,
            ["demo"] = description.Demo,
            ["students"] = new JsonArray([.. students.Select(s => (JsonNode)new JsonObject
            {
                ["name"] = s.Student,
                ["unscored"] = s.Unscored,
                ["metrics"] = new JsonObject(s.Metrics.Select(m => KeyValuePair.Create(m.Key, (JsonNode?)new JsonObject { ["value"] = m.Value, ["n"] = m.Count }))),
            })]),
            ["replies"] = new JsonArray([.. scores.Select(p => (JsonNode)new JsonObject
            {
                ["probe"] = p.ProbeId, ["student"] = p.Student, ["combination"] = p.Combination,
                ["turns"] = new JsonArray([.. p.Turns.Select(t => (JsonNode)new JsonObject
                {
                    ["kind"] = t.Kind.ToString().ToLowerInvariant(), ["question"] = t.Question, ["reply"] = t.Reply, ["passes"] = EvalCriteria.Passes(t),
                    ["judge"] = new JsonObject(t.Judge.Select(j => KeyValuePair.Create(j.Key, (JsonNode?)(j.Value is { } v ? JsonValue.Create(v) : null)))),
                    ["opens_with_correction"] = t.OpensWithCorrection, ["token_f1"] = Math.Round(t.F1, 4), ["reason"] = t.Verdict, ["failure"] = t.Failure,
                })]),
            })]),
        };
        AtomicFile.WriteText(Path.Combine(folder, "eval.json"), json.ToJsonString(JsonLines.Indented));
        AtomicFile.WriteText(Path.Combine(folder, "eval.md"), Markdown(students, description));
        var page = new HtmlReport("Evaluation").Section("eval", "Base against adapter", Section(students, description));
        var samples = scores.SelectMany(p => p.Turns.Select((t, i) => new ReportSample(EvalCriteria.Passes(t), t.Kind.ToString().ToLowerInvariant() + (p.Combination ? $" (turn {i + 1})" : ""),
            p.Student, $"Q: {t.Question}\nA: {t.Reply}\n{t.Verdict}{(t.Failure is null ? "" : "\n" + t.Failure)}", p.ProbeId))).ToList();
        AtomicFile.WriteText(Path.Combine(folder, "report.html"), page.Render(samples, "synth eval: a row is accepted when the reply shows its kind's behaviour"));
    }

    /// <summary>The students' metrics and the description back from an <c>eval.json</c>; null when the folder has none.</summary>
    public static (IReadOnlyList<StudentMetrics> Students, EvalDescription Description)? Read(string folder)
    {
        var path = Path.Combine(folder, "eval.json");
        if (!File.Exists(path)) return null;
        var root = JsonNode.Parse(File.ReadAllText(path))!;
        var labels = EvalMetricsCalculator.Compute("", []).Metrics.ToDictionary(m => m.Key, m => m);
        var students = root["students"]!.AsArray().Select(s => new StudentMetrics(s!["name"]!.GetValue<string>(),
            [.. s["metrics"]!.AsObject().Select(m => labels[m.Key] with { Count = m.Value!["n"]!.GetValue<int>(), Value = m.Value["value"]?.GetValue<double>() })],
            s["unscored"]!.GetValue<int>())).ToList();
        return (students, new EvalDescription(root["judge"]!.GetValue<string>(), root["probes"]!.GetValue<string>(), root["demo"]!.GetValue<bool>()));
    }

    /// <summary>The metrics table, students side by side, with the change from the first student to the last.</summary>
    public static string Markdown(IReadOnlyList<StudentMetrics> students, EvalDescription description)
    {
        ArgumentNullException.ThrowIfNull(students);
        ArgumentNullException.ThrowIfNull(description);
        var b = new StringBuilder();
        if (description.Demo) b.Append("> ").Append(DemoCaveat).Append("\n\n");
        b.Append(CultureInfo.InvariantCulture, $"Judge: {description.Judge}. Probes: {description.Probes}.\n\n");
        var delta = students.Count >= 2;
        b.Append("| metric | n | ").Append(string.Join(" | ", students.Select(s => s.Student))).Append(delta ? $" | {students[^1].Student} − {students[0].Student} |\n" : " |\n");
        b.Append("| --- | --- |").Append(string.Concat(students.Select(_ => " --- |"))).Append(delta ? " --- |\n" : "\n");
        foreach (var key in students[0].Metrics.Select(m => m.Key))
        {
            var row = students.Select(s => s.Metrics.First(m => m.Key == key)).ToList();
            b.Append(CultureInfo.InvariantCulture, $"| {row[0].Label.Trim()} | {row[^1].Count} | ").Append(string.Join(" | ", row.Select(m => Format(m.Value))));
            if (delta) b.Append(" | ").Append(row[0].Value is { } first && row[^1].Value is { } last ? (last - first).ToString("+0.00;-0.00;0.00", CultureInfo.InvariantCulture) : "—");
            b.Append(" |\n");
        }
        b.Append("| unscored (a request failed) | | ").Append(string.Join(" | ", students.Select(s => s.Unscored.ToString(CultureInfo.InvariantCulture)))).Append(delta ? " | |\n" : " |\n");
        return b.ToString();
    }

    /// <summary>The table as HTML, with the demo caveat when it applies.</summary>
    public static XElement Section(IReadOnlyList<StudentMetrics> students, EvalDescription description)
    {
        ArgumentNullException.ThrowIfNull(students);
        ArgumentNullException.ThrowIfNull(description);
        var header = new XElement("tr", new XElement("th", "metric"), new XElement("th", "n"), students.Select(s => new XElement("th", s.Student)));
        var rows = students[0].Metrics.Select(m => m.Key).Select(key =>
        {
            var row = students.Select(s => s.Metrics.First(m => m.Key == key)).ToList();
            return new XElement("tr", new XElement("td", row[0].Label), new XElement("td", new XAttribute("class", "num"), row[^1].Count),
                row.Select(m => new XElement("td", new XAttribute("class", "num"), Format(m.Value))));
        });
        return new XElement("div", new XAttribute("class", "eval"),
            description.Demo ? new XElement("p", new XElement("strong", DemoCaveat)) : null,
            new XElement("p", $"Judge: {description.Judge}. Probes: {description.Probes}."),
            new XElement("table", new XAttribute("id", "eval-table"), header, rows));
    }

    private static string Format(double? value) => value is { } v ? v.ToString("0.00", CultureInfo.InvariantCulture) : "—";
}

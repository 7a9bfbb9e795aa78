using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using SynthPipeline.Pipeline.State;

namespace SynthPipeline.Pipeline.Teacher;

/// <summary>
/// The teacher's token and cost accounting of a run, from the store: prompt, cached and completion tokens per stage,
/// role and endpoint, and the cost where endpoints have prices. For stats.json, the dataset card and the final line.
/// </summary>
public static class TeacherUsageReport
{
    public static JsonObject Json(IReadOnlyList<UsageTotal> totals)
    {
        ArgumentNullException.ThrowIfNull(totals);
        var json = Sum(totals);
        json["by_stage"] = Group(totals, t => t.Stage);
        json["by_role"] = Group(totals, t => StoredName.Of(t.Role));
        json["by_endpoint"] = Group(totals, t => t.Endpoint);
        return json;
    }

    /// <summary>The card's section: one row per stage, role and endpoint, then the total.</summary>
    public static string Markdown(IReadOnlyList<UsageTotal> totals)
    {
        ArgumentNullException.ThrowIfNull(totals);
        var s = new StringBuilder();
        s.AppendLine("| stage | role | endpoint | requests | prompt tokens | cached | completion tokens | cost |").AppendLine("|---|---|---|---|---|---|---|---|");
        foreach (var t in totals)
            s.Append(CultureInfo.InvariantCulture, $"| {t.Stage} | {StoredName.Of(t.Role)} | {t.Endpoint} | {t.Requests} | {t.InputTokens} | {t.CachedTokens} | {t.OutputTokens} | {Money(t.Cost)} |").AppendLine();
        var all = Total(totals);
        s.Append(CultureInfo.InvariantCulture, $"| **total** | | | {all.Requests} | {all.InputTokens} | {all.CachedTokens} | {all.OutputTokens} | {Money(all.Cost)} |").AppendLine();
        return s.ToString();
    }

    /// <summary>"teacher: 1,204 answers, 812,330 prompt tokens (402,118 cached), 210,044 completion tokens, cost 1.23".</summary>
    public static string Line(IReadOnlyList<UsageTotal> totals)
    {
        ArgumentNullException.ThrowIfNull(totals);
        var t = Total(totals);
        var line = string.Create(CultureInfo.InvariantCulture,
            $"teacher: {t.Requests:N0} answers, {t.InputTokens:N0} prompt tokens ({t.CachedTokens:N0} cached), {t.OutputTokens:N0} completion tokens");
        return t.Cost is { } cost ? line + ", cost " + Money(cost) : line;
    }

    private static UsageTotal Total(IReadOnlyList<UsageTotal> totals) => new("all", default, "all", totals.Sum(t => t.Requests), totals.Sum(t => t.InputTokens),
        totals.Sum(t => t.CachedTokens), totals.Sum(t => t.OutputTokens), totals.Any(t => t.Cost is not null) ? totals.Sum(t => t.Cost ?? 0) : null);

    private static JsonObject Sum(IEnumerable<UsageTotal> totals)
    {
        var t = Total([.. totals]);
        return new JsonObject
        {
            ["requests"] = t.Requests,
            ["prompt_tokens"] = t.InputTokens,
            ["cached_tokens"] = t.CachedTokens,
            ["completion_tokens"] = t.OutputTokens,
            ["cost"] = t.Cost is { } c ? Math.Round(c, 6) : null,
        };
    }

    private static JsonObject Group(IReadOnlyList<UsageTotal> totals, Func<UsageTotal, string> key)
    {
        var json = new JsonObject();
        foreach (var g in totals.GroupBy(key).OrderBy(g => g.Key, StringComparer.Ordinal)) json[g.Key] = Sum(g);
        return json;
    }

    private static string Money(double? cost) => cost is { } c ? c.ToString("0.######", CultureInfo.InvariantCulture) : "-";
}

namespace SynthPipeline.Pipeline.SelfInstruct;

/// <summary>
/// Self-Instruct's instance filters: drop an instance whose input equals its output, whose output is empty, or whose
/// input or output ends with ':'; drop the whole task when one non-empty input has different outputs; drop exact
/// duplicates; keep at most <c>max</c>.
/// </summary>
public static class InstanceFilter
{
    public const string TaskInconsistent = "inconsistent_outputs";
    public const string NoInstances = "no_valid_instances";

    /// <summary>The kept instances and the reason for each dropped one; <c>TaskRejection</c> is set when the task goes.</summary>
    public static (IReadOnlyList<TaskInstance> Kept, IReadOnlyList<(TaskInstance Instance, string Reason)> Dropped, string? TaskRejection) Apply(
        IReadOnlyList<TaskInstance> instances, int max)
    {
        ArgumentNullException.ThrowIfNull(instances);
        var kept = new List<TaskInstance>();
        var dropped = new List<(TaskInstance, string)>();
        var seen = new HashSet<TaskInstance>();
        foreach (var i in instances)
        {
            var reason = i.Output.Length == 0 ? "empty_output"
                : i.Input == i.Output ? "input_equals_output"
                : i.Input.EndsWith(':') ? "input_ends_with_colon"
                : i.Output.EndsWith(':') ? "output_ends_with_colon"
                : !seen.Add(i) ? "duplicate_instance"
                : null;
            if (reason is null) kept.Add(i);
            else dropped.Add((i, reason));
        }
        if (kept.Where(i => i.Input.Length > 0).GroupBy(i => i.Input, StringComparer.Ordinal).Any(g => g.Select(i => i.Output).Distinct(StringComparer.Ordinal).Count() > 1))
            return ([], dropped, TaskInconsistent);
        if (kept.Count == 0) return ([], dropped, NoInstances);
        foreach (var extra in kept.Skip(max)) dropped.Add((extra, "over_instance_limit"));
        return (kept.Take(max).ToList(), dropped, null);
    }
}

namespace SynthPipeline.Pipeline.Progress;

/// <summary>One labelled value of a progress display.</summary>
public sealed record ProgressRow(string Label, string Value);

/// <summary>
/// What a run's progress display shows at one instant: the main count against its total, the other counters as rows,
/// the time so far and left, and rejections per reason. One renderer draws it live on a terminal or as a plain line.
/// </summary>
public sealed record ProgressSnapshot(
    string Title,
    string Unit,
    long Done,
    long Total,
    TimeSpan Elapsed,
    TimeSpan? Remaining,
    IReadOnlyList<ProgressRow> Rows,
    IReadOnlyDictionary<string, long> Rejections);

/// <summary>A run whose progress can be shown while it works.</summary>
public interface IRunProgress
{
    ProgressSnapshot Snapshot();
}

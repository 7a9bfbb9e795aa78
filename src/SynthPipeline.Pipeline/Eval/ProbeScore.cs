using SynthPipeline.Core.Augment;

namespace SynthPipeline.Pipeline.Eval;

/// <summary>
/// One scored reply: the probe kind it answered, the reply, the judge's criteria (null when unanswered), whether the
/// reply opens with a correction (the rule the negative stage uses), its token-F1 against the reference, and the
/// failure that left it unscored.
/// </summary>
public sealed record TurnScore(ExampleKind Kind, string Question, string Reply, IReadOnlyDictionary<string, bool?> Judge, bool OpensWithCorrection, double F1,
    string Verdict, string? Failure)
{
    public bool Scored => Failure is null;

    public bool Yes(string criterion) => Judge.TryGetValue(criterion, out var v) && v == true;
}

/// <summary>A student's scores on one probe: one turn, or three for a combination probe.</summary>
public sealed record ProbeScore(string ProbeId, string Student, bool Combination, IReadOnlyList<TurnScore> Turns);

/// <summary>One metric of one student: a share (0–1) or a mean over <see cref="Count"/> scored replies; null when none.</summary>
public sealed record MetricValue(string Key, string Label, int Count, double? Value, bool HigherIsBetter);

/// <summary>Every metric of one student.</summary>
public sealed record StudentMetrics(string Student, IReadOnlyList<MetricValue> Metrics, int Unscored);

using SynthPipeline.Core.Augment;

namespace SynthPipeline.Pipeline.Eval;

/// <summary>Turns a student's probe scores into the metrics of the table.</summary>
public static class EvalMetricsCalculator
{
    public static StudentMetrics Compute(string student, IReadOnlyList<ProbeScore> scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        var single = scores.Where(s => !s.Combination).Select(s => s.Turns[0]).ToList();
        var combos = scores.Where(s => s.Combination).ToList();
        List<TurnScore> Of(ExampleKind kind) => [.. single.Where(t => t.Kind == kind && t.Scored)];
        var legit = Of(ExampleKind.Legitimate);
        var negative = Of(ExampleKind.Negative);
        var refusal = Of(ExampleKind.Refusal);
        var scoredCombos = combos.Where(c => c.Turns.Count == 3 && c.Turns.All(t => t.Scored)).ToList();
        MetricValue Share(string key, string label, IReadOnlyList<TurnScore> turns, Func<TurnScore, bool> yes, bool higherIsBetter = true) =>
            new(key, label, turns.Count, turns.Count == 0 ? null : turns.Count(yes) / (double)turns.Count, higherIsBetter);
        MetricValue ComboShare(string key, string label, Func<ProbeScore, bool> yes) =>
            new(key, label, scoredCombos.Count, scoredCombos.Count == 0 ? null : scoredCombos.Count(yes) / (double)scoredCombos.Count, true);
        var metrics = new List<MetricValue>
        {
            Share("false_premise_correction", "false-premise correction (judge and opener rule)", negative, t => t.Yes(EvalCriteria.Corrects) && t.OpensWithCorrection),
            Share("false_premise_correction_judge", "  judge: corrects first", negative, t => t.Yes(EvalCriteria.Corrects)),
            Share("false_premise_correction_rule", "  rule: opens with a correction", negative, t => t.OpensWithCorrection),
            Share("refusal_rate", "refusal on volatile questions", refusal, t => t.Yes(EvalCriteria.Declines)),
            Share("refusal_points_to_source", "  declines and points to current information", refusal, t => t.Yes(EvalCriteria.Declines) && t.Yes(EvalCriteria.Points)),
            Share("over_refusal", "over-refusal on legitimate questions", legit, t => t.Yes(EvalCriteria.Refuses), higherIsBetter: false),
            Share("correctness", "correct on legitimate questions (judge)", legit, t => t.Yes(EvalCriteria.Correct)),
            new("token_f1", "token-F1 against the reference", legit.Count, legit.Count == 0 ? null : legit.Average(t => t.F1), true),
            ComboShare("combination_turn1", "combination, turn 1 (legitimate answered)", c => EvalCriteria.Passes(c.Turns[0])),
            ComboShare("combination_turn2", "combination, turn 2 (volatile declined)", c => EvalCriteria.Passes(c.Turns[1])),
            ComboShare("combination_turn3", "combination, turn 3 (false premise corrected)", c => EvalCriteria.Passes(c.Turns[2])),
            ComboShare("combination_all", "combination, all three turns right", c => c.Turns.All(EvalCriteria.Passes)),
        };
        var unscored = single.Count(t => !t.Scored) + combos.Count(c => c.Turns.Count < 3 || c.Turns.Any(t => !t.Scored));
        return new StudentMetrics(student, metrics, unscored);
    }
}

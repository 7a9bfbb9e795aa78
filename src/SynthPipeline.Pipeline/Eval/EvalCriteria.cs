using SynthPipeline.Core.Augment;

namespace SynthPipeline.Pipeline.Eval;

/// <summary>The judge template and criteria of each probe kind.</summary>
public static class EvalCriteria
{
    public const string Correct = "Correct", Refuses = "Refuses", Corrects = "Corrects", Consistent = "Consistent", Declines = "Declines", Points = "Points";

    public static string Template(ExampleKind kind) => "eval-judge-" + kind.ToString().ToLowerInvariant();

    public static IReadOnlyList<string> Of(ExampleKind kind) => kind switch
    {
        ExampleKind.Legitimate => [Correct, Refuses],
        ExampleKind.Negative => [Corrects, Consistent],
        _ => [Declines, Points],
    };

    /// <summary>
    /// Whether a reply shows the behaviour its kind asks for: a legitimate answer is correct and not a refusal; a
    /// false premise is corrected first by both the judge and the correction-opener rule; a volatile question is
    /// declined with a pointer to current information.
    /// </summary>
    public static bool Passes(TurnScore turn)
    {
        ArgumentNullException.ThrowIfNull(turn);
        return turn.Scored && turn.Kind switch
        {
            ExampleKind.Legitimate => turn.Yes(Correct) && !turn.Yes(Refuses),
            ExampleKind.Negative => turn.Yes(Corrects) && turn.OpensWithCorrection,
            _ => turn.Yes(Declines) && turn.Yes(Points),
        };
    }
}

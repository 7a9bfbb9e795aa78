using SynthPipeline.Pipeline.State;

namespace SynthPipeline.Pipeline.Teacher;

/// <summary>A teacher answer, or why there is none; failures are data, recorded with the item.</summary>
public sealed record TeacherOutcome(string? Text, bool Truncated, int Attempts, int OutputTokens, string? FailureReason, string? FailureDetail)
{
    public bool Succeeded => FailureReason is null;

    /// <summary>
    /// The rejection a failed request leaves: its reason, and its detail with the attempts it took, after
    /// <paramref name="step"/> (what the request was for) when given.
    /// </summary>
    public StoredRejection ToRejection(string stage, string text, string source, string? step = null) => new()
    {
        Stage = stage,
        Reason = FailureReason ?? throw new InvalidOperationException("a successful answer is no rejection"),
        Detail = $"{(step is null ? "" : step + ": ")}{FailureDetail} (after {Attempts} attempts)",
        Text = text,
        Source = source,
    };
}

using System.ComponentModel.DataAnnotations;

namespace SynthPipeline.Core.Options;

/// <summary>
/// The <c>Eval</c> section: <c>synth eval</c>, <c>synth loop</c> and the ablations. The judge is the teacher's
/// <c>Judge</c> role; the students are the base model and the base with each adapter.
/// </summary>
public sealed class EvalOptions
{
    public const string Section = "Eval";

    /// <summary>Most tokens a student may answer a probe with.</summary>
    [Range(8, 8192)]
    public int MaxAnswerTokens { get; set; } = 256;

    /// <summary>Most tokens of a judge's verdict.</summary>
    [Range(8, 4096)]
    public int JudgeMaxTokens { get; set; } = 96;

    /// <summary>Seed of every student answer and verdict: the same probe and seed always give the same verdict.</summary>
    public int Seed { get; set; } = 7;

    /// <summary>Probes scored at once (requests in flight to the students and the judge).</summary>
    [Range(1, 1024)]
    public int Parallel { get; set; } = 8;

    /// <summary>Probes of each kind at most (0 = all): a cap for quick looks at big probe sets.</summary>
    [Range(0, 1_000_000)]
    public int MaxProbesPerKind { get; set; }

    /// <summary>Multi-turn probes (legitimate, then volatile, then false premise), built from the single probes; 0 = none.</summary>
    [Range(0, 100_000)]
    public int CombinationProbes { get; set; } = 20;

    /// <summary><c>synth loop</c>: answers the student samples per training prompt each round.</summary>
    [Range(1, 64)]
    public int Samples { get; set; } = 4;

    /// <summary><c>synth loop</c>: sampling temperature of the student's answers.</summary>
    [Range(0.0, 2.0)]
    public double SampleTemperature { get; set; } = 0.8;

    /// <summary><c>synth loop</c>: training prompts used per round at most (0 = all).</summary>
    [Range(0, 10_000_000)]
    public int MaxPrompts { get; set; }

    /// <summary>Optimizer steps of each adapter trained by <c>synth loop</c> and <c>--ablate</c>; 0 = one epoch.</summary>
    [Range(0, 10_000_000)]
    public int TrainSteps { get; set; }

    /// <summary>Seconds without a token before the judge is called stalled.</summary>
    [Range(1, 86_400)]
    public int StallSeconds { get; set; } = 120;

    /// <summary>Seconds a whole judge answer may take.</summary>
    [Range(1, 86_400)]
    public int RequestTimeoutSeconds { get; set; } = 600;

    /// <summary>Retries of a failed judge request.</summary>
    [Range(0, 100)]
    public int Retries { get; set; } = 3;

    /// <exception cref="OptionsValidationError">A setting is invalid; each error names its key.</exception>
    public EvalOptions Validate()
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(this, new ValidationContext(this), results, validateAllProperties: true);
        if (results.Count > 0) throw new OptionsValidationError([.. results.Select(r => $"{Section}:{string.Join(",", r.MemberNames)}: {r.ErrorMessage}")]);
        return this;
    }
}

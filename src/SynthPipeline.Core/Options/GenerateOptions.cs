using System.ComponentModel.DataAnnotations;

namespace SynthPipeline.Core.Options;

/// <summary>
/// The <c>Generate</c> section of appsettings.json: the Self-Instruct run of <c>synth generate</c>.
/// Command-line flags (<c>--seeds</c>, <c>--count</c>, <c>--out</c>) override it.
/// </summary>
public sealed class GenerateOptions
{
    public const string Section = "Generate";

    /// <summary>Seed tasks: Self-Instruct JSONL, CSV or plain text.</summary>
    public string Seeds { get; set; } = "seeds/self-instruct-seeds.jsonl";

    /// <summary>Accepted machine-generated instructions to reach.</summary>
    [Range(1, 10_000_000)]
    public int Count { get; set; } = 100;

    /// <summary>Folder that holds run folders.</summary>
    public string Output { get; set; } = "output";

    /// <summary>Run folder name; empty = a timestamped name.</summary>
    public string? RunName { get; set; }

    /// <summary>Seed of every random choice (prompt sampling, teacher sampling).</summary>
    public int Seed { get; set; } = 42;

    [Range(2, 64)]
    public int PromptTasks { get; set; } = 8;

    /// <summary>Of the in-context tasks, at most this many are machine-generated.</summary>
    [Range(0, 64)]
    public int PromptMachineTasks { get; set; } = 2;

    /// <summary>Teacher requests in flight; 0 = twice Teacher:ParallelSequences.</summary>
    [Range(0, 4096)]
    public int RequestsInFlight { get; set; }

    /// <summary>Tokens of one instruction-list answer (the reference's 1,024).</summary>
    [Range(16, 1 << 16)]
    public int InstructionMaxTokens { get; set; } = 1024;

    /// <summary>Presence penalty of instruction answers (the reference's 2: new tasks, not variations).</summary>
    [Range(-2.0, 2.0)]
    public double PresencePenalty { get; set; } = 2;

    /// <summary>Frequency penalty of instruction answers (the reference's 0).</summary>
    [Range(-2.0, 2.0)]
    public double FrequencyPenalty { get; set; }

    /// <summary>Temperature of instance answers (the reference's 0: greedy).</summary>
    [Range(0.0, 2.0)]
    public double InstanceTemperature { get; set; }

    /// <summary>Presence penalty of instance answers (the reference's 1.5).</summary>
    [Range(-2.0, 2.0)]
    public double InstancePresencePenalty { get; set; } = 1.5;

    /// <summary>Tokens of the classification answer ("Yes", "**No.**"); the reference's 3 is too few for chat models' markup.</summary>
    [Range(1, 64)]
    public int ClassifyMaxTokens { get; set; } = 8;

    /// <summary>Top-k of every request; 0 = off, as in the reference (OpenAI's API has none).</summary>
    [Range(0, 1000)]
    public int TopK { get; set; }

    /// <summary>Min-p of every request; 0 = off, as in the reference.</summary>
    [Range(0.0, 0.99)]
    public double MinP { get; set; }

    [Range(16, 1 << 16)]
    public int InstanceMaxTokens { get; set; } = 512;

    [Range(1, 5)]
    public int InstancesPerTask { get; set; } = 5;

    /// <summary>Temperature of instruction answers (the reference's 0.7).</summary>
    [Range(0.0, 2.0)]
    public double Temperature { get; set; } = 0.7;

    /// <summary>Top-p of instruction answers (the reference's 0.5).</summary>
    [Range(0.01, 1.0)]
    public double TopP { get; set; } = 0.5;

    /// <summary>Reject a candidate whose ROUGE-L F against any earlier instruction is above this.</summary>
    [Range(0.0, 1.0)]
    public double RougeThreshold { get; set; } = 0.7;

    /// <summary>Put the seed tasks' own examples into the training files too (Self-Instruct's --include_seed_tasks).</summary>
    public bool IncludeSeedTasks { get; set; }

    /// <summary>Keywords added to Self-Instruct's blacklist (Alpaca adds video, audio, music, flowchart, diagram).</summary>
    public List<string> ExtraBlacklist { get; set; } = [];

    /// <summary>A request with no new token for this long is cancelled and retried.</summary>
    [Range(1, 86_400)]
    public int StallSeconds { get; set; } = 120;

    /// <summary>A request that takes longer than this in total is cancelled and retried.</summary>
    [Range(1, 86_400)]
    public int RequestTimeoutSeconds { get; set; } = 900;

    /// <summary>Retries after a stall, timeout or teacher error; then the item is recorded as failed.</summary>
    [Range(0, 20)]
    public int Retries { get; set; } = 2;

    /// <summary>Constrain the teacher with prompts/demo/*.gbnf: auto (only with the built-in demo model), on, off.</summary>
    public Switch DemoGrammars { get; set; } = Switch.Auto;

    /// <exception cref="OptionsValidationError">One or more settings are invalid; each names its key.</exception>
    public GenerateOptions Validate()
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(this, new ValidationContext(this), results, validateAllProperties: true);
        var errors = results.Select(r => $"{Section}:{string.Join(",", r.MemberNames)}: {r.ErrorMessage}").ToList();
        if (PromptMachineTasks >= PromptTasks) errors.Add($"{Section}:PromptMachineTasks: {PromptMachineTasks} must be less than {Section}:PromptTasks ({PromptTasks})");
        if (string.IsNullOrWhiteSpace(Seeds)) errors.Add($"{Section}:Seeds: give a seed file");
        if (string.IsNullOrWhiteSpace(Output)) errors.Add($"{Section}:Output: give an output folder");
        if (RunName is { Length: > 0 } name && name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
            errors.Add($"{Section}:RunName: '{name}' is not a valid folder name");
        if (errors.Count > 0) throw new OptionsValidationError(errors);
        return this;
    }
}

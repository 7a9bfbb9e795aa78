using System.ComponentModel.DataAnnotations;

namespace SynthPipeline.Core.Options;

/// <summary>
/// The <c>Run</c> section: <c>synth run</c>, the overnight command that chains Self-Instruct, variants, training and
/// the summary in one resumable run folder. The Generate and Augment sections still tune their stages.
/// </summary>
public sealed class RunOptions
{
    public const string Section = "Run";

    /// <summary>Seed tasks for Self-Instruct; empty skips that stage (then a corpus is needed).</summary>
    public string? Seeds { get; set; } = "seeds/self-instruct-seeds.jsonl";

    /// <summary>A folder of documents for grounded questions and variants; empty uses only the generated pairs.</summary>
    public string? Corpus { get; set; } = "seeds/corpus";

    /// <summary>Instructions Self-Instruct accepts.</summary>
    [Range(1, 10_000_000)]
    public int Count { get; set; } = 20;

    /// <summary>The model the adapter is trained for: a GGUF or a Hugging Face folder; empty uses the teacher's model.</summary>
    public string? Student { get; set; }

    /// <summary>Folder that holds run folders.</summary>
    public string Output { get; set; } = "output";

    /// <summary>Run folder name; empty = a timestamped name.</summary>
    public string? RunName { get; set; }

    /// <summary>Stop after the data: no adapter.</summary>
    public bool SkipTrain { get; set; }

    /// <summary>Optimizer steps of the LoRA stage; 0 = one epoch over the data.</summary>
    [Range(0, 10_000_000)]
    public int TrainSteps { get; set; }

    /// <summary>
    /// Share of the accepted examples of each kind held out as probes (<c>augment/probes.jsonl</c>): never trained
    /// on, and what the evaluation stage asks the base and the adapter.
    /// </summary>
    [Range(0.0, 0.5)]
    public double HoldOut { get; set; } = 0.1;

    /// <summary>Stop after training: no evaluation stage.</summary>
    public bool SkipEval { get; set; }

    /// <summary>Optimizer steps between training checkpoints (a kill loses at most these).</summary>
    [Range(1, 100_000)]
    public int CheckpointEvery { get; set; } = 10;

    /// <exception cref="OptionsValidationError">A setting is invalid; each error names its key.</exception>
    public RunOptions Validate()
    {
        Seeds = Shipped(Seeds);
        Corpus = Shipped(Corpus);
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(this, new ValidationContext(this), results, validateAllProperties: true);
        var errors = results.Select(r => $"{Section}:{string.Join(",", r.MemberNames)}: {r.ErrorMessage}").ToList();
        if (string.IsNullOrWhiteSpace(Seeds) && string.IsNullOrWhiteSpace(Corpus))
            errors.Add($"{Section}:Seeds: give seed tasks (--seeds) or a corpus (--corpus), or both");
        if (!string.IsNullOrWhiteSpace(Corpus) && !Directory.Exists(Corpus))
            errors.Add($"{Section}:Corpus: folder '{Corpus}' does not exist");
        if (!string.IsNullOrWhiteSpace(Student) && !File.Exists(Student) && !Directory.Exists(Student))
            errors.Add($"{Section}:Student: '{Student}' is neither a GGUF file nor a Hugging Face folder");
        if (string.IsNullOrWhiteSpace(Output)) errors.Add($"{Section}:Output: give an output folder");
        if (errors.Count > 0) throw new OptionsValidationError(errors);
        return this;
    }

    /// <summary>A relative path that is not here but ships next to the application (seeds/…) means the shipped one.</summary>
    private static string? Shipped(string? path)
    {
        if (string.IsNullOrWhiteSpace(path) || Path.IsPathRooted(path) || File.Exists(path) || Directory.Exists(path)) return path;
        var shipped = Path.Combine(AppContext.BaseDirectory, path);
        return File.Exists(shipped) || Directory.Exists(shipped) ? shipped : path;
    }
}

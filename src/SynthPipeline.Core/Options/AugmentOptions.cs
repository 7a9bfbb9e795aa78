using System.ComponentModel.DataAnnotations;

namespace SynthPipeline.Core.Options;

/// <summary>A kind of information that changes constantly, which the student should decline to state.</summary>
public sealed class VolatileTopic
{
    /// <summary>Short name, e.g. "prices".</summary>
    public string Name { get; set; } = "";

    /// <summary>Example questions that show the teacher what is meant.</summary>
    public List<string> Examples { get; set; } = [];

    /// <summary>Where current information of this kind lives, for the refusal to point to.</summary>
    public string WhereToLook { get; set; } = "";
}

/// <summary>Share of each kind of exchange in mixed conversations.</summary>
public sealed class MixShares
{
    [Range(0.0, 1000.0)]
    public double Legitimate { get; set; } = 0.6;

    [Range(0.0, 1000.0)]
    public double Negative { get; set; } = 0.2;

    [Range(0.0, 1000.0)]
    public double Refusal { get; set; } = 0.2;
}

/// <summary>
/// The <c>Augment</c> section of appsettings.json: <c>synth augment</c>, which turns domain documents (and, optionally,
/// accepted instruction/answer pairs) into grounded, negative and refusal examples mixed into conversations.
/// </summary>
public sealed class AugmentOptions
{
    public const string Section = "Augment";

    /// <summary>Folder of .txt, .md, .html and .pdf documents (searched recursively).</summary>
    public string? Corpus { get; set; }

    /// <summary>Instruction/answer pairs (Alpaca, ShareGPT or OpenAI-chat JSONL, e.g. a generate run's alpaca.jsonl) to build variants from.</summary>
    public string? Pairs { get; set; }

    /// <summary>Folder that holds run folders.</summary>
    public string Output { get; set; } = "output";

    /// <summary>Run folder name; empty = a timestamped name.</summary>
    public string? RunName { get; set; }

    /// <summary>Seed of every random choice (teacher sampling, topics, mixing).</summary>
    public int Seed { get; set; } = 42;

    /// <summary>Largest chunk, in teacher tokens.</summary>
    [Range(32, 1 << 16)]
    public int ChunkTokens { get; set; } = 384;

    /// <summary>Tokens of a chunk repeated at the start of the next.</summary>
    [Range(0, 1 << 15)]
    public int ChunkOverlapTokens { get; set; } = 48;

    /// <summary>Larger files are reported and skipped.</summary>
    [Range(1, 4096)]
    public int MaxFileMegabytes { get; set; } = 16;

    [Range(1, 20)]
    public int QuestionsPerChunk { get; set; } = 3;

    [Range(0, 10)]
    public int NegativesPerChunk { get; set; } = 1;

    [Range(0, 10)]
    public int RefusalsPerChunk { get; set; } = 1;

    [Range(0, 10)]
    public int NegativesPerPair { get; set; } = 1;

    [Range(0, 10)]
    public int RefusalsPerPair { get; set; } = 1;

    /// <summary>Teacher-judge votes per check; the majority decides (odd numbers avoid ties, which reject). A majority's worth is asked at once, the rest only while undecided.</summary>
    [Range(1, 15)]
    public int JudgeVotes { get; set; } = 3;

    /// <summary>
    /// Share of negative examples written as a correction conversation: the assistant first goes along with the false
    /// premise (a turn marked not trainable), the user objects, and the assistant corrects itself.
    /// </summary>
    [Range(0.0, 1.0)]
    public double CorrectionShare { get; set; } = 0.25;

    public MixShares Mix { get; set; } = new();

    [Range(1, 32)]
    public int MinTurns { get; set; } = 2;

    [Range(1, 32)]
    public int MaxTurns { get; set; } = 4;

    /// <summary>Examples the mix proportions leave over become single-exchange conversations (else they are left out).</summary>
    public bool SingleTurnLeftovers { get; set; } = true;

    /// <summary>auto (one short example of each behaviour, built from the accepted data), off, or a text file.</summary>
    public string SystemPrompt { get; set; } = "auto";

    /// <summary>What <see cref="SystemPrompt"/> asks for.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public SystemPromptSource SystemPromptSource => SystemPrompt?.Trim().ToUpperInvariant() switch
    {
        "AUTO" => SystemPromptSource.Auto,
        "OFF" => SystemPromptSource.Off,
        _ => SystemPromptSource.File,
    };

    /// <summary>
    /// An example whose question has a ROUGE-L F above this against an earlier kept question of the same kind (in id
    /// order) is dropped as a near-duplicate when the dataset is written; overlapping chunks ask alike. 1 keeps all.
    /// </summary>
    [Range(0.0, 1.0)]
    public double RougeThreshold { get; set; } = 0.7;

    /// <summary>
    /// Share of the accepted examples of each kind held out as evaluation probes (<c>probes.jsonl</c>, read by
    /// <c>synth eval</c>) and left out of every training file; 0 holds out none. <c>synth run</c> sets <c>Run:HoldOut</c>.
    /// </summary>
    [Range(0.0, 0.5)]
    public double HoldOut { get; set; }

    /// <summary>Share of conversations that carry the system prompt.</summary>
    [Range(0.0, 1.0)]
    public double SystemPromptShare { get; set; } = 0.5;

    /// <summary>Topics for refusals; empty = <see cref="DefaultVolatileTopics"/>.</summary>
    public List<VolatileTopic> VolatileTopics { get; set; } = [];

    /// <summary>Phrases a correction may open with; empty = the built-in list.</summary>
    public List<string> CorrectionOpeners { get; set; } = [];

    [Range(0.0, 2.0)]
    public double Temperature { get; set; } = 0.7;

    [Range(0.01, 1.0)]
    public double TopP { get; set; } = 0.9;

    [Range(0.0, 2.0)]
    public double JudgeTemperature { get; set; } = 0.6;

    [Range(16, 1 << 16)]
    public int QuestionMaxTokens { get; set; } = 512;

    [Range(16, 1 << 16)]
    public int VariantMaxTokens { get; set; } = 384;

    [Range(8, 1 << 16)]
    public int JudgeMaxTokens { get; set; } = 96;

    /// <summary>Chunks worked on at once; 0 = Teacher:ParallelSequences (each chunk keeps one or two requests in flight).</summary>
    [Range(0, 4096)]
    public int ChunksInFlight { get; set; }

    [Range(1, 86_400)]
    public int StallSeconds { get; set; } = 120;

    [Range(1, 86_400)]
    public int RequestTimeoutSeconds { get; set; } = 900;

    [Range(0, 20)]
    public int Retries { get; set; } = 2;

    /// <summary>Constrain the teacher with prompts/demo/*.gbnf: auto (only with the built-in demo model), on, off.</summary>
    public Switch DemoGrammars { get; set; } = Switch.Auto;

    /// <summary>Used when <see cref="VolatileTopics"/> is empty.</summary>
    public static IReadOnlyList<VolatileTopic> DefaultVolatileTopics { get; } =
    [
        new() { Name = "prices", Examples = ["How much does it cost right now?", "What is today's price?"], WhereToLook = "the seller's current price list or checkout page" },
        new() { Name = "counts and stock", Examples = ["How many are in stock at the moment?", "How many users does it have today?"], WhereToLook = "the live inventory or the official statistics page" },
        new() { Name = "current status", Examples = ["Is it open right now?", "Is the service down at the moment?"], WhereToLook = "the official status page or the operator's announcements" },
        new() { Name = "live metrics", Examples = ["What is the current exchange rate?", "What is the latest reading?"], WhereToLook = "a live data source such as the provider's dashboard" },
        new() { Name = "latest releases and schedules", Examples = ["What is the newest version today?", "When is the next departure?"], WhereToLook = "the official release notes or timetable" },
    ];

    public IReadOnlyList<VolatileTopic> EffectiveVolatileTopics => VolatileTopics.Count > 0 ? VolatileTopics : DefaultVolatileTopics;

    /// <exception cref="OptionsValidationError">One or more settings are invalid; each names its key.</exception>
    public AugmentOptions Validate()
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(this, new ValidationContext(this), results, validateAllProperties: true);
        Validator.TryValidateObject(Mix, new ValidationContext(Mix), results, validateAllProperties: true);
        var errors = results.Select(r => $"{Section}:{string.Join(",", r.MemberNames)}: {r.ErrorMessage}").ToList();
        if (string.IsNullOrWhiteSpace(Corpus) && string.IsNullOrWhiteSpace(Pairs))
            errors.Add($"{Section}:Corpus: give a folder of documents (synth augment FOLDER) or {Section}:Pairs (--pairs FILE)");
        if (ChunkOverlapTokens >= ChunkTokens)
            errors.Add($"{Section}:ChunkOverlapTokens: {ChunkOverlapTokens} must be less than {Section}:ChunkTokens ({ChunkTokens})");
        if (MaxTurns < MinTurns) errors.Add($"{Section}:MaxTurns: {MaxTurns} must be at least {Section}:MinTurns ({MinTurns})");
        if (Mix.Legitimate + Mix.Negative + Mix.Refusal <= 0) errors.Add($"{Section}:Mix: at least one share must be above 0");
        if (string.IsNullOrWhiteSpace(Output)) errors.Add($"{Section}:Output: give an output folder");
        if (RunName is { Length: > 0 } name && name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
            errors.Add($"{Section}:RunName: '{name}' is not a valid folder name");
        for (var i = 0; i < VolatileTopics.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(VolatileTopics[i].Name)) errors.Add($"{Section}:VolatileTopics:{i}:Name: give the topic a name");
            if (string.IsNullOrWhiteSpace(VolatileTopics[i].WhereToLook)) errors.Add($"{Section}:VolatileTopics:{i}:WhereToLook: say where current information of this kind lives");
        }
        if (errors.Count > 0) throw new OptionsValidationError(errors);
        return this;
    }
}

/// <summary>Where an augment run's system prompt comes from: built from accepted examples, none, or a file.</summary>
public enum SystemPromptSource
{
    Auto,
    Off,
    File,
}

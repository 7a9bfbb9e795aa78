using SynthPipeline.Core;
namespace SynthPipeline.Llama;

/// <summary>How a grammar constrains sampling.</summary>
public enum GrammarMode
{
    /// <summary>The chain picks from the unconstrained logits and the grammar checks that token; only a refused pick is
    /// resampled with the grammar over the whole vocabulary (llama.cpp's common sampler does the same).</summary>
    First,

    /// <summary>The grammar masks the whole vocabulary before every pick: cheaper only when it refuses most picks.</summary>
    EveryToken,
}

/// <summary>
/// How the next token is chosen. Temperature 0 is greedy. Validated once by <see cref="Validate"/>; the sampler
/// chain is built from a validated instance only.
/// </summary>
public sealed record SamplingSettings
{
    public const uint RandomSeed = 0xFFFFFFFF;

    public float Temperature { get; init; } = 0.8f;
    public int TopK { get; init; } = 40;
    public float TopP { get; init; } = 0.95f;
    public float MinP { get; init; } = 0.05f;
    public float RepeatPenalty { get; init; } = 1.0f;
    public int PenaltyLastN { get; init; } = 64;
    public float PresencePenalty { get; init; }
    public float FrequencyPenalty { get; init; }

    /// <summary>Seed of the random sampler; <see cref="RandomSeed"/> draws one.</summary>
    public uint Seed { get; init; } = RandomSeed;

    /// <summary>A GBNF grammar that constrains output, or null.</summary>
    public string? Grammar { get; init; }

    public string GrammarRoot { get; init; } = "root";

    /// <summary>How the grammar is applied: to the chain's pick first (the default), or to every token of the vocabulary.</summary>
    public GrammarMode GrammarMode { get; init; } = GrammarMode.First;

    public static SamplingSettings Greedy { get; } = new() { Temperature = 0 };

    public bool IsGreedy => Temperature <= 0;

    /// <summary>A repeat, frequency or presence penalty is set: the chain then depends on the tokens drawn before.</summary>
    public bool HasPenalties => RepeatPenalty != 1 || PresencePenalty != 0 || FrequencyPenalty != 0;

    /// <exception cref="ArgumentException">A value is out of range; the message names it.</exception>
    public SamplingSettings Validate()
    {
        static void Check(bool ok, string what)
        {
            if (!ok) throw new UserErrorException($"invalid sampling setting: {what}");
        }
        Check(float.IsFinite(Temperature) && Temperature >= 0, $"Temperature={Temperature} must be >= 0");
        Check(TopK >= 0, $"TopK={TopK} must be >= 0 (0 disables)");
        Check(TopP is > 0 and <= 1, $"TopP={TopP} must be in (0, 1]");
        Check(MinP is >= 0 and < 1, $"MinP={MinP} must be in [0, 1)");
        Check(float.IsFinite(RepeatPenalty) && RepeatPenalty > 0, $"RepeatPenalty={RepeatPenalty} must be > 0 (1 disables)");
        Check(PenaltyLastN >= -1, $"PenaltyLastN={PenaltyLastN} must be >= -1");
        Check(float.IsFinite(PresencePenalty), $"PresencePenalty={PresencePenalty} must be finite");
        Check(float.IsFinite(FrequencyPenalty), $"FrequencyPenalty={FrequencyPenalty} must be finite");
        Check(Grammar is null || Grammar.Length > 0, "Grammar must be null or non-empty");
        return this;
    }
}

using SynthPipeline.Training.Data;

namespace SynthPipeline.Training.Dpo;

/// <summary>
/// One preference: the prompt's turns, then the chosen and the rejected continuations (assistant turns), and where
/// it came from ("file:line").
/// </summary>
public sealed record PreferencePair(IReadOnlyList<Turn> Prompt, IReadOnlyList<Turn> Chosen, IReadOnlyList<Turn> Rejected, string Source)
{
    /// <summary>The prompt followed by the chosen turns, whose loss counts (the prompt's own assistant turns do not).</summary>
    public Conversation ChosenConversation => new([.. Context, .. Chosen], Source);

    /// <summary>The prompt followed by the rejected turns.</summary>
    public Conversation RejectedConversation => new([.. Context, .. Rejected], Source);

    private IEnumerable<Turn> Context => Prompt.Select(t => t with { Trainable = false });
}

/// <summary>A pair tokenized with the student's template: the chosen and rejected sequences share the prompt's tokens.</summary>
public sealed record PreferenceExample(TokenizedExample Chosen, TokenizedExample Rejected)
{
    /// <summary>The longer of the two sequences, for grouping pairs of like length.</summary>
    public int Length => Math.Max(Chosen.Tokens.Length, Rejected.Tokens.Length);

    /// <summary>Tokens through the model per pass over this pair (both sequences).</summary>
    public int TokenCount => Chosen.Tokens.Length + Rejected.Tokens.Length;
}

using SynthPipeline.Llama;

namespace SynthPipeline.Training.Data;

/// <summary>Token ids of a whole conversation and, per position, whether the loss counts that token.</summary>
public sealed record TokenizedExample(int[] Tokens, bool[] Trained, string Source)
{
    public int TrainedCount => Trained.Count(t => t);
}

/// <summary>
/// Tokenizes conversations with the student's own tokenizer and chat template. An assistant turn's tokens are found as
/// the difference between the template rendered up to the turn (with the assistant prompt) and rendered through it,
/// so the loss falls on exactly the tokens the model must produce, its end-of-turn marker included.
/// </summary>
public sealed class ChatTokenizer(LlamaModel student, string? templateOverride = null)
{
    private readonly string? _template = templateOverride ?? student.ChatTemplate;

    public TokenizedExample Tokenize(Conversation conversation, int maxTokens)
    {
        ArgumentNullException.ThrowIfNull(conversation);
        var turns = conversation.Turns;
        var all = Encode(Render(turns.Count, addAssistantPrompt: false));
        var trained = new bool[all.Length];
        for (var i = 0; i < turns.Count; i++)
        {
            if (turns[i].Role != "assistant" || !turns[i].Trainable) continue;
            var before = Encode(Render(i, addAssistantPrompt: true));
            var through = Encode(Render(i + 1, addAssistantPrompt: false));
            if (!all.AsSpan().StartsWith(through) || !through.AsSpan().StartsWith(before))
                throw new TrainingDataException($"{conversation.Source}: the chat template does not render turn {i + 1} as a prefix of the conversation; cannot place its loss");
            for (var p = before.Length; p < through.Length; p++) trained[p] = true;
        }
        if (all.Length > maxTokens)
        {
            all = all[..maxTokens];
            trained = trained[..maxTokens];
        }
        return new TokenizedExample(all, trained, conversation.Source);

        string Render(int count, bool addAssistantPrompt) =>
            ChatTemplate.Apply(_template, turns.Take(count).Select(t => new TemplateMessage(t.Role, t.Content)).ToList(), addAssistantPrompt);
    }

    private int[] Encode(string text) => student.Vocab.Tokenize(text, addSpecial: student.Vocab.AddsBos, parseSpecial: true);
}

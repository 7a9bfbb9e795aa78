using System.Text.Json;
using SynthPipeline.Core.Text;
using SynthPipeline.Training.Data;

namespace SynthPipeline.Training.Dpo;

/// <summary>
/// Reads preference pairs as TRL's DPO trainer takes them, one JSON object per line: <c>prompt</c>, <c>chosen</c> and
/// <c>rejected</c> as strings or as lists of <c>{role, content}</c> messages; or, with no <c>prompt</c>, whole
/// <c>chosen</c> and <c>rejected</c> conversations whose last assistant turn differs (the implicit prompt is what comes
/// before it, which must be the same in both). Every defect names the file, line and field.
/// </summary>
public static class PreferenceReader
{
    public static IReadOnlyList<PreferencePair> Read(string path) =>
        [.. JsonObjectLines.Read(path, "preference file", m => new TrainingDataException(m)).Select(x => Pair(x.Root, x.Source))];

    private static PreferencePair Pair(JsonElement root, string source)
    {
        var chosen = Turns(root, "chosen", "assistant", source);
        var rejected = Turns(root, "rejected", "assistant", source);
        if (root.TryGetProperty("prompt", out _))
        {
            var prompt = Turns(root, "prompt", "user", source);
            if (prompt.Count == 0) throw new TrainingDataException($"{source}: \"prompt\" is empty");
            return new PreferencePair(prompt, Completion(chosen, "chosen", source), Completion(rejected, "rejected", source), source);
        }
        // Implicit prompt: everything before the last assistant turn, the same on both sides.
        var (chosenPrompt, chosenReply) = Split(chosen, "chosen", source);
        var (rejectedPrompt, rejectedReply) = Split(rejected, "rejected", source);
        if (chosenPrompt.Count == 0) throw new TrainingDataException($"{source}: no \"prompt\", and \"chosen\" has no turns before its answer");
        if (!chosenPrompt.SequenceEqual(rejectedPrompt))
            throw new TrainingDataException($"{source}: no \"prompt\", and \"chosen\" and \"rejected\" differ before their last assistant turn");
        return new PreferencePair(chosenPrompt, [chosenReply], [rejectedReply], source);
    }

    private static IReadOnlyList<Turn> Completion(IReadOnlyList<Turn> turns, string field, string source)
    {
        if (turns.Count == 0 || turns.All(t => t.Role != "assistant"))
            throw new TrainingDataException($"{source}: \"{field}\" has no assistant answer");
        return turns;
    }

    private static (IReadOnlyList<Turn> Prompt, Turn Reply) Split(IReadOnlyList<Turn> turns, string field, string source)
    {
        if (turns.Count == 0 || turns[^1].Role != "assistant")
            throw new TrainingDataException($"{source}: \"{field}\" must end with an assistant turn (or give a \"prompt\")");
        return (turns.Take(turns.Count - 1).ToList(), turns[^1]);
    }

    /// <summary>A string field (one turn of <paramref name="role"/>) or a list of messages.</summary>
    private static List<Turn> Turns(JsonElement root, string field, string role, string source)
    {
        if (!root.TryGetProperty(field, out var value)) throw new TrainingDataException($"{source}: missing \"{field}\"");
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                var text = value.GetString()!;
                if (string.IsNullOrWhiteSpace(text)) throw new TrainingDataException($"{source}: \"{field}\" is empty");
                return [new Turn(role, text)];
            case JsonValueKind.Array:
                var turns = new List<Turn>();
                var i = 0;
                foreach (var m in value.EnumerateArray())
                {
                    var at = $"{field}[{i++}]";
                    if (m.ValueKind != JsonValueKind.Object) throw new TrainingDataException($"{source}: \"{at}\" must be a {{role, content}} object");
                    var r = m.TryGetProperty("role", out var rv) && rv.ValueKind == JsonValueKind.String ? rv.GetString()! : throw new TrainingDataException($"{source}: \"{at}.role\" is missing or not a string");
                    if (r is not ("system" or "user" or "assistant")) throw new TrainingDataException($"{source}: \"{at}.role\" is '{r}'; use system, user or assistant");
                    var c = m.TryGetProperty("content", out var cv) && cv.ValueKind == JsonValueKind.String ? cv.GetString()! : throw new TrainingDataException($"{source}: \"{at}.content\" is missing or not a string");
                    turns.Add(new Turn(r, c));
                }
                return turns;
            default:
                throw new TrainingDataException($"{source}: \"{field}\" must be a string or a list of messages");
        }
    }
}

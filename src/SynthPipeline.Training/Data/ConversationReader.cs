using System.Text.Json;
using SynthPipeline.Core.Text;

namespace SynthPipeline.Training.Data;

/// <summary>
/// Reads the pipeline's training files: OpenAI chat (<c>{"messages":[{"role","content","trainable"?}]}</c>),
/// ShareGPT (<c>{"conversations":[{"from","value"}]}</c>) and Alpaca (<c>{"instruction","input","output"}</c>) JSON lines,
/// detected per line. A trainable mark, when present, is honoured; otherwise every assistant turn is trained on.
/// </summary>
public static class ConversationReader
{
    public static IReadOnlyList<Conversation> Read(string path) =>
        [.. JsonObjectLines.Read(path, "training file", m => new TrainingDataException(m)).Select(x => new Conversation(Turns(x.Root, x.Source), x.Source))];

    private static List<Turn> Turns(JsonElement root, string source)
    {
        if (root.TryGetProperty("messages", out var messages))
            return Array(messages, source, "messages").Select(m => new Turn(
                Str(m, "role", source), Str(m, "content", source),
                !m.TryGetProperty("trainable", out var t) || t.ValueKind != JsonValueKind.False)).ToList();
        if (root.TryGetProperty("conversations", out var conversations))
            return Array(conversations, source, "conversations").Select(m => new Turn(Str(m, "from", source) switch
            {
                "human" or "user" => "user",
                "gpt" or "assistant" => "assistant",
                "system" => "system",
                var other => throw new TrainingDataException($"{source}: unknown ShareGPT speaker '{other}'"),
            }, Str(m, "value", source), !m.TryGetProperty("trainable", out var t) || t.ValueKind != JsonValueKind.False)).ToList();
        if (root.TryGetProperty("instruction", out _))
        {
            var instruction = Str(root, "instruction", source);
            var input = root.TryGetProperty("input", out var i) && i.ValueKind == JsonValueKind.String ? i.GetString()! : "";
            return [new Turn("user", input.Length == 0 ? instruction : instruction + "\n\n" + input), new Turn("assistant", Str(root, "output", source))];
        }
        throw new TrainingDataException($"{source}: not an OpenAI-chat (messages), ShareGPT (conversations) or Alpaca (instruction) record");
    }

    private static IEnumerable<JsonElement> Array(JsonElement e, string source, string name) =>
        e.ValueKind == JsonValueKind.Array ? e.EnumerateArray() : throw new TrainingDataException($"{source}: \"{name}\" must be an array");

    private static string Str(JsonElement e, string name, string source) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()!
            : throw new TrainingDataException($"{source}: missing or non-string \"{name}\"");
}

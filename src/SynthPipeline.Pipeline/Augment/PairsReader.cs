using System.Text.Json;
using SynthPipeline.Core;
using SynthPipeline.Core.Text;

namespace SynthPipeline.Pipeline.Augment;

/// <summary>One instruction/answer pair from a pairs file, with its line and character span in that file.</summary>
public sealed record SourcePair(int Line, int Start, int End, string Question, string Answer);

/// <summary>
/// Reads instruction/answer pairs from JSONL in any of the shapes the pipeline writes: Alpaca
/// (<c>instruction</c>, <c>input</c>, <c>output</c>), OpenAI chat (<c>messages</c>) or ShareGPT (<c>conversations</c>);
/// for a conversation, its first user/assistant exchange. Every defect names the file and line.
/// </summary>
public static class PairsReader
{
    /// <exception cref="InvalidDataException">A line is not JSON or has no usable pair; the message names file and line.</exception>
    public static IReadOnlyList<SourcePair> Read(string path)
    {
        if (!File.Exists(path)) throw new UserErrorException($"the pairs file '{Path.GetFullPath(path)}' does not exist (Augment:Pairs or --pairs)");
        var text = File.ReadAllText(path);
        var pairs = new List<SourcePair>();
        var start = 0;
        var line = 0;
        while (start < text.Length)
        {
            line++;
            var end = text.IndexOf('\n', start);
            if (end < 0) end = text.Length;
            var raw = text[start..end].TrimEnd('\r');
            if (raw.Trim().Length > 0)
            {
                var (question, answer) = Parse(raw, path, line);
                pairs.Add(new SourcePair(line, start, start + raw.Length, question, answer));
            }
            start = end + 1;
        }
        if (pairs.Count == 0) throw new UserErrorException($"'{path}': no pairs (the file is empty)");
        return pairs;
    }

    private static (string, string) Parse(string raw, string path, int line)
    {
        string Where() => $"{path}:{line}";
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(raw);
            root = doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new UserErrorException($"{Where()}: not valid JSON ({JsonErrorText.Of(e)})", e);
        }
        if (root.ValueKind != JsonValueKind.Object) throw new UserErrorException($"{Where()}: expected a JSON object");
        if (root.TryGetProperty("instruction", out var instruction))
        {
            var input = root.TryGetProperty("input", out var i) && i.ValueKind == JsonValueKind.String ? i.GetString()! : "";
            var output = root.TryGetProperty("output", out var o) && o.ValueKind == JsonValueKind.String ? o.GetString()! : "";
            var q = instruction.ValueKind == JsonValueKind.String ? instruction.GetString()! : "";
            if (q.Trim().Length == 0 || output.Trim().Length == 0) throw new UserErrorException($"{Where()}: 'instruction' and 'output' must both be non-empty text");
            return (input.Trim().Length == 0 ? q.Trim() : q.Trim() + "\n\n" + input.Trim(), output.Trim());
        }
        var (list, role, content, user, assistant) = root.TryGetProperty("messages", out var m) ? (m, "role", "content", "user", "assistant")
            : root.TryGetProperty("conversations", out var c) ? (c, "from", "value", "human", "gpt")
            : throw new UserErrorException($"{Where()}: expected Alpaca ('instruction', 'output'), OpenAI chat ('messages') or ShareGPT ('conversations')");
        if (list.ValueKind != JsonValueKind.Array) throw new UserErrorException($"{Where()}: '{(role == "role" ? "messages" : "conversations")}' must be an array");
        string? question = null;
        foreach (var turn in list.EnumerateArray())
        {
            var r = turn.TryGetProperty(role, out var rv) ? rv.GetString() : null;
            var v = turn.TryGetProperty(content, out var cv) && cv.ValueKind == JsonValueKind.String ? cv.GetString()! : "";
            if (r == user) question = v;
            else if (r == assistant && question is { Length: > 0 } && v.Trim().Length > 0) return (question.Trim(), v.Trim());
        }
        throw new UserErrorException($"{Where()}: no user turn followed by an assistant answer");
    }
}

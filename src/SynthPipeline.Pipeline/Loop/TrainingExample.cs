using System.Text.Json;
using SynthPipeline.Core;
using SynthPipeline.Core.Augment;

namespace SynthPipeline.Pipeline.Loop;

/// <summary>A training example of a run: its id, kind, question and answer (a line of the augment stage's <c>alpaca.jsonl</c>).</summary>
public sealed record TrainingExample(string Id, ExampleKind Kind, string Question, string Answer)
{
    /// <summary>Reads a run's <c>alpaca.jsonl</c>; the id is the example's provenance id, or the line.</summary>
    public static IReadOnlyList<TrainingExample> Read(string path)
    {
        if (!File.Exists(path)) throw new UserErrorException($"{path}: the run's training examples do not exist");
        var examples = new List<TrainingExample>();
        var line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            try
            {
                using var doc = JsonDocument.Parse(text);
                var root = doc.RootElement;
                var kind = root.TryGetProperty("kind", out var k) && Enum.TryParse<ExampleKind>(k.GetString(), ignoreCase: true, out var parsed) ? parsed : ExampleKind.Legitimate;
                var id = root.TryGetProperty("provenance", out var p) && p.ValueKind == JsonValueKind.Object && p.TryGetProperty("example", out var e) ? e.GetString()! : $"line{line}";
                examples.Add(new TrainingExample(id, kind, root.GetProperty("instruction").GetString()!, root.GetProperty("output").GetString()!));
            }
            catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                throw new UserErrorException($"{path}:{line}: not an example with instruction, output and kind ({ex.Message})");
            }
        }
        return examples;
    }

    /// <summary>Writes examples as single-exchange OpenAI chat lines, the shape <c>synth train</c> reads.</summary>
    public static void WriteChat(string path, IEnumerable<TrainingExample> examples) => Output.JsonLines.Write(path, examples.Select(e => new
    {
        messages = new object[] { new { role = "user", content = e.Question }, new { role = "assistant", content = e.Answer } },
        kinds = new[] { e.Kind.ToString().ToLowerInvariant() },
        example = e.Id,
    }));
}

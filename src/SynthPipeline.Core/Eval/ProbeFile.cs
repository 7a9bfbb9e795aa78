using System.Text.Json;
using SynthPipeline.Core;
using SynthPipeline.Core.Augment;
using SynthPipeline.Core.Text;

namespace SynthPipeline.Core.Eval;

/// <summary>
/// Probe sets as JSON lines: <c>question</c>, <c>kind</c> (legitimate, negative or refusal), <c>reference</c>, optional
/// <c>source</c> (a passage the judge checks against) and optional <c>id</c>. A run's held-out probes are written in the
/// same shape. Every defect names the file, line and field.
/// </summary>
public static class ProbeFile
{
    public const string FileName = "probes.jsonl";

    public static IReadOnlyList<Probe> Read(string path)
    {
        var probes = new List<Probe>();
        foreach (var (root, at, line) in JsonObjectLines.Read(path, "probe file", m => new UserErrorException(m)))
        {
            var kindText = Required(root, "kind", at);
            if (!Enum.TryParse<ExampleKind>(kindText, ignoreCase: true, out var kind) || int.TryParse(kindText, out _))
                throw new UserErrorException($"{at}: \"kind\" is '{kindText}'; use legitimate, negative or refusal");
            var id = Optional(root, "id", at) ?? $"{Path.GetFileName(path)}:{line}";
            probes.Add(new Probe(id, kind, Required(root, "question", at), Required(root, "reference", at), Optional(root, "source", at), Optional(root, "origin", at) ?? at));
        }
        var twice = probes.GroupBy(p => p.Id, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (twice is not null) throw new UserErrorException($"{path}: the id '{twice.Key}' is used by more than one probe");
        if (probes.Count == 0) throw new UserErrorException($"{path}: no probes");
        return probes;
    }

    /// <summary>Writes <paramref name="probes"/> whole or not at all (a temporary file, then a rename).</summary>
    public static void Write(string path, IEnumerable<Probe> probes)
    {
        ArgumentNullException.ThrowIfNull(probes);
        var temp = path + ".tmp";
        using (var writer = new StreamWriter(temp))
            foreach (var p in probes)
                writer.WriteLine(JsonSerializer.Serialize(new { id = p.Id, kind = p.Kind.ToString().ToLowerInvariant(), question = p.Question, reference = p.Reference, source = p.Source, origin = p.Origin }));
        File.Move(temp, path, overwrite: true);
    }

    private static string Required(JsonElement root, string name, string at) =>
        Optional(root, name, at) is { Length: > 0 } v && !string.IsNullOrWhiteSpace(v) ? v : throw new UserErrorException($"{at}: \"{name}\" is missing or empty");

    private static string? Optional(JsonElement root, string name, string at)
    {
        if (!root.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind == JsonValueKind.String ? v.GetString() : throw new UserErrorException($"{at}: \"{name}\" must be a string");
    }
}

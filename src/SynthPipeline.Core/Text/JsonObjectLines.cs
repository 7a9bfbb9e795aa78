using System.Text.Json;

namespace SynthPipeline.Core.Text;

/// <summary>
/// A JSON Lines file read object by object, as every input file of the tool is: blank lines skipped, each other line
/// parsed, and its place given as "path:line" for messages. A missing file, a line that is not JSON, or one that is
/// not an object is an error, made by the caller's factory, naming the file (and line).
/// </summary>
public static class JsonObjectLines
{
    public static IEnumerable<(JsonElement Root, string Source, int Line)> Read(string path, string what, Func<string, Exception> error)
    {
        ArgumentNullException.ThrowIfNull(error);
        if (!File.Exists(path)) throw error($"{path}: the {what} does not exist");
        var line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            var source = $"{path}:{line}";
            JsonElement root;
            try
            {
                using var doc = JsonDocument.Parse(text);
                root = doc.RootElement.Clone();
            }
            catch (JsonException e)
            {
                throw error($"{source}: not valid JSON ({JsonErrorText.Of(e)})");
            }
            if (root.ValueKind != JsonValueKind.Object) throw error($"{source}: expected a JSON object");
            yield return (root, source, line);
        }
    }
}

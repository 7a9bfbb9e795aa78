using System.Globalization;
using System.Text.Json;
using CsvHelper;
using SynthPipeline.Core.Text;

namespace SynthPipeline.Pipeline.SelfInstruct;

/// <summary>
/// Reads seed tasks: Self-Instruct JSON lines (<c>.jsonl</c>, or <c>.json</c> holding one object a line; Alpaca's
/// <c>seed_tasks.jsonl</c> and Self-Instruct's <c>user_oriented_instructions.jsonl</c> read as they are), an Alpaca
/// JSON array of <c>{instruction, input, output}</c> (<c>.json</c>; items with the same instruction become one task's
/// instances), CSV with <c>instruction,input,output,is_classification</c> (<c>.csv</c>; rows with the same instruction
/// become one task), or plain text with one instruction per line (anything else). A defect stops the read with
/// <see cref="SeedFormatException"/> naming file and line; a repeated instruction is a warning naming its lines, and
/// only its first occurrence is kept.
/// </summary>
public static class SeedReader
{
    public static IReadOnlyList<SeedTask> Read(string path, Action<string>? warn = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new SeedFormatException(path, 0, "the seed file does not exist (Generate:Seeds or --seeds)");
        var tasks = Path.GetExtension(path).ToUpperInvariant() switch
        {
            ".JSON" when StartsWithArray(path) => ReadJsonArray(path),
            ".JSONL" or ".JSON" => ReadJsonLines(path),
            ".CSV" => ReadCsv(path),
            _ => ReadText(path),
        };
        if (tasks.Count == 0) throw new SeedFormatException(path, 0, "the file holds no seed tasks");
        var repeats = tasks.GroupBy(t => t.Instruction, StringComparer.Ordinal).Where(g => g.Count() > 1).ToList();
        if (repeats.Count == 0) return tasks;
        var described = repeats.Take(5).Select(g => $"\"{Short(g.Key)}\" at lines {string.Join(", ", g.Select(LineOf))}");
        warn?.Invoke($"{path}: {repeats.Count} seed instruction(s) appear more than once; only the first of each is used: {string.Join("; ", described)}" +
            (repeats.Count > 5 ? $"; and {repeats.Count - 5} more" : ""));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        return [.. tasks.Where(t => seen.Add(t.Instruction))];
    }

    private static bool StartsWithArray(string path)
    {
        using var reader = new StreamReader(path);
        int c;
        while ((c = reader.Read()) >= 0)
            if (!char.IsWhiteSpace((char)c) && c != '\uFEFF') return c == '[';
        return false;
    }

    private static List<SeedTask> ReadJsonArray(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        var byInstruction = new Dictionary<string, (List<SeedInstance> Instances, bool Classification, int Line)>(StringComparer.Ordinal);
        var order = new List<string>();
        int LineAt(long offset) => 1 + bytes.AsSpan(0, (int)offset).Count((byte)'\n');
        try
        {
            reader.Read();
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                var line = LineAt(reader.TokenStartIndex);
                if (reader.TokenType != JsonTokenType.StartObject) throw new SeedFormatException(path, line, "expected an object with \"instruction\", \"input\" and \"output\"");
                using var item = JsonDocument.ParseValue(ref reader);
                var root = item.RootElement;
                var instruction = RequiredString(root, "instruction", path, line);
                var input = OptionalString(root, "input", path, line) ?? "";
                var output = OptionalString(root, "output", path, line);
                var classification = root.TryGetProperty("is_classification", out var c) && c.ValueKind == JsonValueKind.True;
                if (!byInstruction.TryGetValue(instruction, out var entry))
                {
                    entry = ([], classification, line);
                    byInstruction[instruction] = entry;
                    order.Add(instruction);
                }
                if (!string.IsNullOrEmpty(output)) entry.Instances.Add(new SeedInstance(input, output));
            }
        }
        catch (JsonException e)
        {
            throw new SeedFormatException(path, (int)(e.LineNumber ?? 0) + 1, $"not a valid JSON array ({e.Message})");
        }
        return [.. order.Select((instruction, i) =>
        {
            var (instances, classification, line) = byInstruction[instruction];
            return new SeedTask($"seed_task_{i}", $"seed_task_{i}", instruction, instances, classification, $"{path}:{line}");
        })];
    }

    private static int LineOf(SeedTask task) => int.Parse(task.Source[(task.Source.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);

    private static string Short(string s) => s.Length <= 60 ? s : s[..57] + "...";

    private static List<SeedTask> ReadJsonLines(string path)
    {
        var tasks = new List<SeedTask>();
        var lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            JsonElement root;
            try
            {
                using var doc = JsonDocument.Parse(line);
                root = doc.RootElement.Clone();
            }
            catch (JsonException e)
            {
                throw new SeedFormatException(path, lineNumber, $"not valid JSON ({JsonErrorText.Of(e)})");
            }
            if (root.ValueKind != JsonValueKind.Object) throw new SeedFormatException(path, lineNumber, "expected a JSON object per line");
            var instruction = RequiredString(root, "instruction", path, lineNumber);
            var id = OptionalString(root, "id", path, lineNumber) ?? $"seed_task_{tasks.Count}";
            var name = OptionalString(root, "name", path, lineNumber) ?? id;
            var isClassification = false;
            if (root.TryGetProperty("is_classification", out var c))
            {
                if (c.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                    throw new SeedFormatException(path, lineNumber, "\"is_classification\" must be true or false");
                isClassification = c.GetBoolean();
            }
            var instances = new List<SeedInstance>();
            if (root.TryGetProperty("instances", out var list))
            {
                if (list.ValueKind != JsonValueKind.Array) throw new SeedFormatException(path, lineNumber, "\"instances\" must be an array");
                foreach (var item in list.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.Object) throw new SeedFormatException(path, lineNumber, "each instance must be an object with \"input\" and \"output\"");
                    var input = OptionalString(item, "input", path, lineNumber) ?? "";
                    var output = OptionalString(item, "output", path, lineNumber)
                                 ?? throw new SeedFormatException(path, lineNumber, "an instance has no \"output\"");
                    instances.Add(new SeedInstance(input, output));
                }
            }
            tasks.Add(new SeedTask(id, name, instruction, instances, isClassification, $"{path}:{lineNumber}"));
        }
        return tasks;
    }

    private static string RequiredString(JsonElement e, string name, string path, int line)
    {
        if (!e.TryGetProperty(name, out var v)) throw new SeedFormatException(path, line, $"missing \"{name}\"");
        if (v.ValueKind != JsonValueKind.String) throw new SeedFormatException(path, line, $"\"{name}\" must be a string");
        var s = v.GetString()!;
        if (string.IsNullOrWhiteSpace(s)) throw new SeedFormatException(path, line, $"\"{name}\" is empty");
        return s.Trim();
    }

    private static string? OptionalString(JsonElement e, string name, string path, int line)
    {
        if (!e.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.String) throw new SeedFormatException(path, line, $"\"{name}\" must be a string");
        return v.GetString();
    }

    private static List<SeedTask> ReadCsv(string path)
    {
        var options = new CsvReaderOptions
        {
            TrackLineNumbers = true,
            MalformedData = CsvMalformedDataHandling.Throw,
            FieldCountMismatch = CsvFieldCountHandling.Throw,
        };
        var byInstruction = new Dictionary<string, (List<SeedInstance> Instances, bool Classification, int Line)>(StringComparer.Ordinal);
        var order = new List<string>();
        try
        {
            using var csv = CsvReader.FromFile(path, options, FileOptions.SequentialScan);
            csv.ReadHeader();
            var header = csv.Headers;
            if (!header.Contains("instruction", StringComparer.Ordinal))
                throw new SeedFormatException(path, 1, $"the header has no \"instruction\" column (found: {string.Join(",", header)}); expected instruction,input,output,is_classification");
            string Field(string name) => header.Contains(name, StringComparer.Ordinal) ? csv.GetString(name) ?? "" : "";
            while (csv.Read())
            {
                var line = (int)csv.LineNumber;
                var instruction = Field("instruction").Trim();
                if (instruction.Length == 0) throw new SeedFormatException(path, line, "the instruction is empty");
                var flag = Field("is_classification").Trim();
                var isClassification = flag.ToUpperInvariant() switch
                {
                    "" or "FALSE" or "0" or "NO" => false,
                    "TRUE" or "1" or "YES" => true,
                    _ => throw new SeedFormatException(path, line, $"is_classification '{flag}' must be true/false, yes/no or 1/0"),
                };
                if (!byInstruction.TryGetValue(instruction, out var entry))
                {
                    entry = ([], isClassification, line);
                    byInstruction[instruction] = entry;
                    order.Add(instruction);
                }
                var output = Field("output");
                if (output.Length > 0) entry.Instances.Add(new SeedInstance(Field("input"), output));
            }
        }
        catch (CsvFormatException e)
        {
            throw new SeedFormatException(path, (int)e.LineNumber, $"malformed CSV: {e.Message}");
        }
        return order.Select((instruction, i) =>
        {
            var (instances, classification, line) = byInstruction[instruction];
            return new SeedTask($"seed_task_{i}", $"seed_task_{i}", instruction, instances, classification, $"{path}:{line}");
        }).ToList();
    }

    private static List<SeedTask> ReadText(string path)
    {
        var tasks = new List<SeedTask>();
        var lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line) || line.TrimStart().StartsWith('#')) continue;
            if (line.Contains('\0', StringComparison.Ordinal)) throw new SeedFormatException(path, lineNumber, "binary data in a text seed file");
            tasks.Add(new SeedTask($"seed_task_{tasks.Count}", $"seed_task_{tasks.Count}", line.Trim(), [], false, $"{path}:{lineNumber}"));
        }
        return tasks;
    }
}

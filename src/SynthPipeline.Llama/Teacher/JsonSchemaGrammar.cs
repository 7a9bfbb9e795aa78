using System.Globalization;
using System.Text;
using System.Text.Json;
using SynthPipeline.Core;

namespace SynthPipeline.Llama.Teacher;

/// <summary>A JSON Schema keyword or shape that <see cref="JsonSchemaGrammar"/> cannot enforce.</summary>
public sealed class UnsupportedSchemaException : UserErrorException
{
    public UnsupportedSchemaException(string message) : base(message) { }
}

/// <summary>
/// Converts a JSON Schema into a GBNF grammar so that constrained output always validates. Supported:
/// <c>type</c> (object, array, string, integer, number, boolean, null, or a list of them), <c>properties</c> (emitted
/// in declared order, all present), <c>items</c>, <c>minItems</c>/<c>maxItems</c>, <c>minLength</c>/<c>maxLength</c>,
/// <c>enum</c>, <c>const</c>, <c>anyOf</c>/<c>oneOf</c>. Strings without <c>maxLength</c> are capped at
/// <see cref="DefaultMaxLength"/> characters and arrays without <c>maxItems</c> at <see cref="DefaultMaxItems"/>
/// items, so generation always closes, whatever the model.
/// Anything else (<c>$ref</c>, <c>pattern</c>, …) is rejected, never silently ignored.
/// </summary>
public static class JsonSchemaGrammar
{
    public const int DefaultMaxLength = 256;
    public const int DefaultMaxItems = 16;

    // Keywords that only document and do not constrain what we emit.
    private static readonly HashSet<string> Descriptive = new(StringComparer.Ordinal)
    {
        "$schema", "$id", "title", "description", "default", "examples", "required", "additionalProperties", "format",
    };

    public static string FromSchema(JsonElement schema)
    {
        var rules = new List<string>();
        var root = Rule(schema, "root", rules, "#");
        var sb = new StringBuilder();
        if (root != "root") sb.Append("root ::= ").Append(root).Append('\n');
        foreach (var rule in rules) sb.Append(rule).Append('\n');
        sb.Append("""ws ::= " "?""").Append('\n');
        sb.Append("""char ::= [^"\\\x00-\x1F] | "\\" ["\\/bfnrt]""").Append('\n');
        return sb.ToString();
    }

    private static string Rule(JsonElement s, string name, List<string> rules, string path)
    {
        if (s.ValueKind != JsonValueKind.Object) throw new UnsupportedSchemaException($"schema at {path} must be an object");
        foreach (var p in s.EnumerateObject())
        {
            if (!Descriptive.Contains(p.Name) && p.Name is not ("type" or "properties" or "items" or "minItems" or "maxItems" or "minLength"
                    or "maxLength" or "enum" or "const" or "anyOf" or "oneOf"))
                throw new UnsupportedSchemaException($"JSON Schema keyword '{p.Name}' at {path} is not supported by the constrained-output grammar");
        }
        if (s.TryGetProperty("const", out var constant)) return Define(name, rules, Literal(constant));
        if (s.TryGetProperty("enum", out var values))
            return Define(name, rules, string.Join(" | ", values.EnumerateArray().Select(Literal)));
        if (s.TryGetProperty("anyOf", out var anyOf) || s.TryGetProperty("oneOf", out anyOf))
            return Define(name, rules, string.Join(" | ", anyOf.EnumerateArray().Select((sub, i) => Rule(sub, $"{name}-alt{i}", rules, $"{path}/anyOf/{i}"))));
        if (!s.TryGetProperty("type", out var type)) throw new UnsupportedSchemaException($"schema at {path} needs a 'type', 'enum', 'const' or 'anyOf'");
        if (type.ValueKind == JsonValueKind.Array)
            return Define(name, rules, string.Join(" | ", type.EnumerateArray().Select((t, i) => Typed(s, t.GetString()!, $"{name}-t{i}", rules, path))));
        return Typed(s, type.GetString()!, name, rules, path);
    }

    private static string Typed(JsonElement s, string type, string name, List<string> rules, string path)
    {
        switch (type)
        {
            case "string":
                var min = Int(s, "minLength", 0, path);
                var max = Int(s, "maxLength", Math.Max(min, DefaultMaxLength), path);
                return Define(name, rules, $"\"\\\"\" char{{{min},{max}}} \"\\\"\"");
            case "integer":
                return Define(name, rules, "\"-\"? ( \"0\" | [1-9] [0-9]{0,14} )");
            case "number":
                return Define(name, rules, "\"-\"? ( \"0\" | [1-9] [0-9]{0,14} ) ( \".\" [0-9]{1,10} )?");
            case "boolean":
                return Define(name, rules, "\"true\" | \"false\"");
            case "null":
                return Define(name, rules, "\"null\"");
            case "array":
                var item = s.TryGetProperty("items", out var items)
                    ? Rule(items, name + "-item", rules, path + "/items")
                    : throw new UnsupportedSchemaException($"array at {path} needs 'items'");
                var lo = Int(s, "minItems", 0, path);
                var hi = Int(s, "maxItems", Math.Max(lo, DefaultMaxItems), path);
                if (hi < lo) throw new UnsupportedSchemaException($"array at {path} has maxItems {hi} < minItems {lo}");
                if (hi == 0) return Define(name, rules, "\"[\" ws \"]\"");
                var rest = $"( \",\" ws {item} ){{{Math.Max(0, lo - 1)},{hi - 1}}}";
                var body = lo == 0 ? $"( {item} {rest} )?" : $"{item} {rest}";
                return Define(name, rules, $"\"[\" ws {body} ws \"]\"");
            case "object":
                if (!s.TryGetProperty("properties", out var properties) || !properties.EnumerateObject().Any())
                    throw new UnsupportedSchemaException($"object at {path} needs at least one entry in 'properties'");
                var members = properties.EnumerateObject().Select((p, i) =>
                    $"{Literal(JsonSerializer.SerializeToElement(p.Name))} \":\" ws {Rule(p.Value, $"{name}-p{i}", rules, $"{path}/properties/{p.Name}")}");
                return Define(name, rules, $"\"{{\" ws {string.Join(" \",\" ws ", members)} ws \"}}\"");
            default:
                throw new UnsupportedSchemaException($"type '{type}' at {path} is not a JSON Schema type");
        }
    }

    private static string Define(string name, List<string> rules, string body)
    {
        rules.Add($"{name} ::= {body}");
        return name;
    }

    private static int Int(JsonElement s, string keyword, int fallback, string path)
    {
        if (!s.TryGetProperty(keyword, out var v)) return fallback;
        return v.TryGetInt32(out var i) && i >= 0 ? i : throw new UnsupportedSchemaException($"'{keyword}' at {path} must be a non-negative integer");
    }

    // A GBNF string literal that matches exactly the compact JSON text of the value.
    private static string Literal(JsonElement value)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            value.WriteTo(writer);
        var json = Encoding.UTF8.GetString(buffer.ToArray());
        var sb = new StringBuilder("\"");
        foreach (var c in json)
        {
            sb.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ => c.ToString(CultureInfo.InvariantCulture),
            });
        }
        return sb.Append('"').ToString();
    }
}

using System.Text.Json;

namespace SynthPipeline.Pipeline.Output;

/// <summary>JSON Lines and JSON files as the exporters write them: UTF-8, unescaped non-ASCII, one record a line, written atomically.</summary>
public static class JsonLines
{
    /// <summary>One record a line, with non-ASCII text left readable.</summary>
    public static readonly JsonSerializerOptions Compact = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>For stats.json and other files people read.</summary>
    public static readonly JsonSerializerOptions Indented = new(Compact) { WriteIndented = true };

    public static void Write<T>(string path, IEnumerable<T> records) => AtomicFile.Write(path, w =>
    {
        foreach (var record in records)
        {
            w.Write(JsonSerializer.Serialize(record, Compact));
            w.Write('\n');
        }
    });
}

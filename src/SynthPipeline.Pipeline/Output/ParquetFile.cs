using System.Text.Json.Serialization;
using Parquet.Serialization;

namespace SynthPipeline.Pipeline.Output;

/// <summary>
/// Parquet twins of the training files (Parquet.Net), in schemas Hugging Face <c>datasets</c> loads as they are:
/// flat string columns, and lists of {role, content} or {from, value} structs for conversations. Written to a
/// temporary name and renamed, like every other output.
/// </summary>
public static class ParquetFile
{
    public static async Task WriteAsync<T>(string path, IEnumerable<T> rows, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var temp = path + ".tmp";
        await using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            await ParquetSerializer.SerializeAsync(rows, stream, cancellationToken: cancellationToken).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
    }
}

/// <summary>An Alpaca row: instruction, input, output (and, for augment, the kind of example).</summary>
public sealed class AlpacaRow
{
    [JsonPropertyName("instruction")] public string Instruction { get; init; } = "";
    [JsonPropertyName("input")] public string Input { get; init; } = "";
    [JsonPropertyName("output")] public string Output { get; init; } = "";
}

/// <summary>One chat message of an OpenAI-chat row.</summary>
public sealed class MessageRow
{
    [JsonPropertyName("role")] public string Role { get; init; } = "";
    [JsonPropertyName("content")] public string Content { get; init; } = "";

    /// <summary>False for the flawed assistant turn of a correction conversation (not trained on); null otherwise.</summary>
    [JsonPropertyName("trainable")] public bool? Trainable { get; init; }
}

/// <summary>An OpenAI-chat row: the messages of one conversation.</summary>
public sealed class ChatRow
{
    [JsonPropertyName("messages")] public List<MessageRow> Messages { get; init; } = [];
}

/// <summary>One turn of a ShareGPT row.</summary>
public sealed class TurnRow
{
    [JsonPropertyName("from")] public string From { get; init; } = "";
    [JsonPropertyName("value")] public string Value { get; init; } = "";

    /// <summary>False for the flawed turn of a correction conversation; null otherwise.</summary>
    [JsonPropertyName("trainable")] public bool? Trainable { get; init; }
}

/// <summary>A ShareGPT row: the turns of one conversation.</summary>
public sealed class ShareGptRow
{
    [JsonPropertyName("conversations")] public List<TurnRow> Conversations { get; init; } = [];
}

/// <summary>A preference pair in the shape TRL's DPOTrainer reads: prompt, chosen answer, rejected answer.</summary>
public sealed class DpoRow
{
    [JsonPropertyName("prompt")] public string Prompt { get; init; } = "";
    [JsonPropertyName("chosen")] public string Chosen { get; init; } = "";
    [JsonPropertyName("rejected")] public string Rejected { get; init; } = "";
}

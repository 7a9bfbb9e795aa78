using System.Text.Json;

namespace SynthPipeline.Core.Text;

/// <summary>
/// A JSON reader's complaint as a user reads it. System.Text.Json ends its messages with its own 0-based position
/// ("LineNumber: 0 | BytePositionInLine: 1."), which beside a "file:line" place reads as a second, wrong line number.
/// </summary>
public static class JsonErrorText
{
    /// <summary>What is wrong, with the column (1-based) where the reader stopped, without the reader's own position.</summary>
    public static string Of(JsonException error)
    {
        ArgumentNullException.ThrowIfNull(error);
        var what = error.Message.Split(" LineNumber:", 2)[0].TrimEnd();
        return error.BytePositionInLine is { } column ? $"{what} at column {column + 1}" : what;
    }
}

using System.Text.Json;
using SynthPipeline.Core.Text;

namespace SynthPipeline.Core.Tests;

public sealed class JsonErrorTextTests
{
    private static JsonException ErrorOf(string json)
    {
        try
        {
            JsonDocument.Parse(json).Dispose();
        }
        catch (JsonException e)
        {
            return e;
        }
        throw new InvalidOperationException("the JSON parsed");
    }

    [Fact]
    public void Of_OneLineWithAnError_GivesTheColumnAndDropsTheReadersZeroBasedPosition()
    {
        var text = JsonErrorText.Of(ErrorOf("""{"id":"c","instruction":"Broken line, "instances":[]}"""));
        Assert.DoesNotContain("LineNumber", text, StringComparison.Ordinal);
        Assert.DoesNotContain("BytePositionInLine", text, StringComparison.Ordinal);
        Assert.EndsWith(" at column 40", text, StringComparison.Ordinal);
        Assert.StartsWith("'i' is invalid after a value.", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Of_ErrorAtTheFirstCharacter_IsColumnOne()
    {
        Assert.EndsWith(" at column 1", JsonErrorText.Of(ErrorOf("x")), StringComparison.Ordinal);
    }
}

namespace SynthPipeline.Core.Text;

/// <summary>Short previews of long text for rejection records and reports.</summary>
public static class TextPreview
{
    /// <summary>The first <paramref name="max"/> characters, with an ellipsis when something was cut.</summary>
    public static string Shorten(string text, int max = 300)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Length > max ? text[..max] + "…" : text;
    }
}

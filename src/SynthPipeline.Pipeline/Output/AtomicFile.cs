using System.Text;

namespace SynthPipeline.Pipeline.Output;

/// <summary>
/// Files a reader never sees half-written: the content goes to a temporary name in the same folder, is flushed to
/// disk, and is then renamed over the target.
/// </summary>
public static class AtomicFile
{
    public static void Write(string path, Action<TextWriter> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        using (var writer = new StreamWriter(stream, new UTF8Encoding(false)))
        {
            write(writer);
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
    }

    public static void WriteText(string path, string text) => Write(path, w => w.Write(text));
}

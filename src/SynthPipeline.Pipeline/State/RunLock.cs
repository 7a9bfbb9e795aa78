using SynthPipeline.Core;
namespace SynthPipeline.Pipeline.State;

/// <summary>
/// Holds <c>run.lock</c> in the run folder open and unshared for the life of the run, so a second process on the
/// same folder is refused. The operating system drops it when the process dies, even after kill -9.
/// </summary>
public sealed class RunLock : IDisposable
{
    private readonly FileStream _file;

    private RunLock(FileStream file) => _file = file;

    /// <exception cref="InvalidOperationException">Another process holds the run.</exception>
    public static RunLock Acquire(string runFolder)
    {
        var path = Path.Combine(runFolder, "run.lock");
        try
        {
            var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
            file.SetLength(0);
            var pid = System.Text.Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
            file.Write(pid);
            file.Flush();
            return new RunLock(file);
        }
        catch (IOException e)
        {
            throw new UserErrorException($"the run folder '{runFolder}' is in use by another synth process (it holds {path})", e);
        }
    }

    public void Dispose() => _file.Dispose();
}

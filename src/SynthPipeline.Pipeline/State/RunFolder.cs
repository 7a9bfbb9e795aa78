using System.Globalization;
using SynthPipeline.Core;

namespace SynthPipeline.Pipeline.State;

/// <summary>
/// A run's folder for the life of the run: its lock and its store. A new run is prepared beside its final name
/// (<c>.NAME.preparing</c>: folder, <c>state.db</c>, stored settings) and renamed into place only when it can be
/// resumed, so a kill at any instant leaves either no run or a resumable one. A preparation left by a killed process
/// is removed the next time the same name is started.
/// </summary>
public sealed class RunFolder : IDisposable
{
    private const string KindKey = "kind";
    private const string PreparingSuffix = ".preparing";
    private readonly RunLock _lock;

    private RunFolder(string path, bool isResume, RunLock runLock, RunStore store)
    {
        Path = path;
        IsResume = isResume;
        _lock = runLock;
        Store = store;
    }

    /// <summary>The run folder's full path.</summary>
    public string Path { get; }

    public string Name => System.IO.Path.GetFileName(Path);

    /// <summary>True when this process continues a run an earlier process started.</summary>
    public bool IsResume { get; }

    public RunStore Store { get; }

    /// <summary>The default name of a folder a command creates: <paramref name="prefix"/>-yyyyMMdd-HHmmss in UTC.</summary>
    public static string TimedName(string prefix, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        return prefix + "-" + time.GetUtcNow().UtcDateTime.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Creates a new run named <paramref name="runName"/> (or <c>run-&lt;time&gt;</c>) under <paramref name="output"/>:
    /// <paramref name="initialize"/> stores the run's settings in the prepared store, and the folder is then renamed
    /// into place. <paramref name="outputSetting"/> names the setting of <paramref name="output"/> in errors ("Generate:Output").
    /// </summary>
    /// <exception cref="UserErrorException">The name holds a run or other files, or the output folder is not writable.</exception>
    public static RunFolder Create(string output, string? runName, RunKind kind, string outputSetting, Action<RunStore> initialize, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(initialize);
        ArgumentNullException.ThrowIfNull(time);
        var name = string.IsNullOrWhiteSpace(runName) ? TimedName("run", time) : runName;
        var final = System.IO.Path.GetFullPath(System.IO.Path.Combine(output, name));
        CheckFree(final, name);
        var staging = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(final)!, "." + name + PreparingSuffix);
        try
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(final)!);
            RemoveAbandoned(staging);
            Directory.CreateDirectory(staging);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserErrorException($"the output folder '{System.IO.Path.GetDirectoryName(final)}' is not writable ({outputSetting} or --out): {e.Message}", e);
        }
        using (RunLock.Acquire(staging))
        using (var store = RunStore.Open(staging))
        {
            initialize(store);
            // Written last: a store with its kind is a run that can be resumed.
            store.SetMeta(KindKey, StoredName.Of(kind));
        }
        if (Directory.Exists(final)) Directory.Delete(final);
        Directory.Move(staging, final);
        return Open(final, isResume: false);
    }

    /// <summary>Opens an existing run to continue it: <paramref name="resume"/> is its folder, or its name under <paramref name="output"/>.</summary>
    /// <exception cref="UserErrorException">There is no such run, it is of another kind, or another process holds it.</exception>
    public static RunFolder Resume(string output, string resume, RunKind kind)
    {
        ArgumentNullException.ThrowIfNull(resume);
        var folder = System.IO.Path.GetFullPath(Directory.Exists(resume) ? resume : System.IO.Path.Combine(output, resume));
        if (!File.Exists(System.IO.Path.Combine(folder, RunStore.FileName)))
        {
            var staging = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(folder)!, "." + System.IO.Path.GetFileName(folder) + PreparingSuffix);
            throw new UserErrorException(Directory.Exists(staging)
                ? $"--resume: the run '{resume}' was stopped before it started, so there is nothing to continue; start it again with --run-name {System.IO.Path.GetFileName(folder)}"
                : $"--resume: '{resume}' is not a run folder (no {RunStore.FileName} in '{folder}')");
        }
        var run = Open(folder, isResume: true);
        var stored = run.Store.GetMeta(KindKey);
        if (stored is not null && !string.Equals(stored, StoredName.Of(kind), StringComparison.Ordinal))
        {
            run.Dispose();
            throw new UserErrorException($"--resume: '{folder}' is a {stored} run; continue it with synth {stored} --resume");
        }
        return run;
    }

    public void Dispose()
    {
        Store.Dispose();
        _lock.Dispose();
    }

    /// <summary>
    /// Removes a run this process created and has not started (its teacher would not open, a setting it needs is
    /// missing), so that the same command, corrected, starts it again under the same name; left in place, it would
    /// hold the name with settings that <c>--resume</c> would keep. A resumed run is left as it is.
    /// </summary>
    public void DiscardIfNew()
    {
        if (IsResume) return;
        Dispose();
        Directory.Delete(Path, recursive: true);
    }

    private static RunFolder Open(string folder, bool isResume)
    {
        var runLock = RunLock.Acquire(folder);
        try
        {
            return new RunFolder(folder, isResume, runLock, RunStore.Open(folder));
        }
        catch
        {
            runLock.Dispose();
            throw;
        }
    }

    private static void CheckFree(string final, string name)
    {
        if (File.Exists(System.IO.Path.Combine(final, RunStore.FileName)))
            throw new UserErrorException($"the run folder '{final}' already holds a run: continue it with --resume {name}, or choose another --run-name");
        if (File.Exists(final) || Directory.Exists(final) && Directory.EnumerateFileSystemEntries(final).Any())
            throw new UserErrorException($"'{final}' already exists and is not a run folder; choose another --run-name or move it away");
    }

    /// <summary>Removes a preparation that a killed process left; one that another process is still preparing is refused.</summary>
    private static void RemoveAbandoned(string staging)
    {
        if (!Directory.Exists(staging)) return;
        RunLock.Acquire(staging).Dispose();
        Directory.Delete(staging, recursive: true);
    }
}

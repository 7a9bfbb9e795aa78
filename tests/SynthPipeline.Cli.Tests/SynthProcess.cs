using System.Diagnostics;

namespace SynthPipeline.Cli.Tests;

/// <summary>Runs the real <c>synth</c> executable (as built next to the tests) in a scratch working directory.</summary>
internal static class SynthProcess
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static string ScratchDirectory()
    {
        var dir = Path.Combine(Path.GetTempPath(), "synth-cli-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Starts synth without waiting; the caller reads its streams and ends it.</summary>
    public static Process Start(string workingDirectory, IDictionary<string, string>? environment, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "synth.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("Teacher__", StringComparison.Ordinal)).ToList()) info.Environment.Remove(key);
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) info.Environment[k] = v;
        var process = Process.Start(info)!;
        lock (Started) Started.Add(process);
        return process;
    }

    // A test that fails before its synth has ended (a Ctrl+C that did not land, a failed assertion) would leave it
    // running after the test host: long runs (--count 100000) would then take CPU from every later test.
    private static readonly List<Process> Started = [];

    static SynthProcess() => AppDomain.CurrentDomain.ProcessExit += (_, _) => EndStarted();

    private static void EndStarted()
    {
        lock (Started)
            foreach (var p in Started)
            {
                try
                {
                    if (!p.HasExited) p.Kill();
                }
                catch (InvalidOperationException)
                {
                    // disposed by its test, or already reaped
                }
            }
    }

    public static Task<Result> RunAsync(string workingDirectory, IDictionary<string, string>? environment, params string[] args) =>
        RunAsync(workingDirectory, environment, null, args);

    /// <summary>Runs synth; <paramref name="onFirstOutput"/> gets the process id once stdout has produced something.</summary>
    public static async Task<Result> RunAsync(string workingDirectory, IDictionary<string, string>? environment, Func<int, Task>? onFirstOutput, params string[] args)
    {
        using var p = Start(workingDirectory, environment, args);
        if (onFirstOutput is not null)
        {
            var first = new char[1];
            if (await p.StandardOutput.ReadAsync(first) > 0) await onFirstOutput(p.Id);
        }
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        // No deadline: a loaded machine only makes synth slower, and CI's own limit catches a real hang.
        await p.WaitForExitAsync();
        return new Result(p.ExitCode, await stdout, await stderr);
    }

    /// <summary>
    /// A moment to kill a run at: a task that completes when the process has reached it (an observable state of the
    /// run folder or of stderr, or a delay after the start), or when the process has ended by itself.
    /// </summary>
    public delegate Task KillPoint(Process process, string runFolder, Func<string> stderrSoFar);

    /// <summary>Kills at <paramref name="delay"/> after the start, whatever the run is doing then.</summary>
    public static KillPoint After(TimeSpan delay) => (p, _, _) => Task.WhenAny(p.WaitForExitAsync(), Task.Delay(delay));

    /// <summary>Kills once <paramref name="file"/> exists in the run folder.</summary>
    public static KillPoint WhenFileExists(string file) => (p, run, _) => Until(p, () => File.Exists(Path.Combine(run, file)));

    /// <summary>Kills once stderr holds <paramref name="text"/>.</summary>
    public static KillPoint WhenStderrContains(string text) => (p, _, stderr) => Until(p, () => stderr().Contains(text, StringComparison.Ordinal));

    /// <summary>Kills once <paramref name="sql"/> (a count) on the run's state.db reaches <paramref name="atLeast"/>.</summary>
    public static KillPoint WhenStoreCount(string sql, int atLeast) => (p, run, _) => Until(p, () => StoreCount(Path.Combine(run, "state.db"), sql) >= atLeast);

    /// <summary>Kills once <paramref name="sql"/> on the state.db at <paramref name="db"/> (relative to the run folder) reaches <paramref name="atLeast"/>.</summary>
    public static KillPoint WhenStoreCountIn(string db, string sql, int atLeast) => (p, run, _) => Until(p, () => StoreCount(Path.Combine(run, db), sql) >= atLeast);

    /// <summary>Waits until <paramref name="reached"/> holds or the process has ended.</summary>
    public static async Task Until(Process p, Func<bool> reached)
    {
        while (!p.HasExited && !reached()) await Task.Delay(5);
    }

    /// <summary>A count from a run's state.db, read while the run writes it (0 before its schema exists).</summary>
    public static long StoreCount(string db, string sql)
    {
        if (!File.Exists(db)) return 0;
        try
        {
            using var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
            c.Open();
            using var q = c.CreateCommand();
            q.CommandText = sql;
            return Convert.ToInt64(q.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Microsoft.Data.Sqlite.SqliteException)
        {
            return 0; // the schema is not there yet, or the writer holds a lock for a moment
        }
    }

    /// <summary>
    /// Starts <paramref name="startArgs"/> and kills it (SIGKILL) at each of <paramref name="points"/> in turn. After
    /// every kill the run folder is either absent (killed before the run was complete: started again with the same
    /// name) or a resumable run (continued with <paramref name="resumeArgs"/>); anything else fails the test. Returns
    /// the number of kills that landed on a live process.
    /// </summary>
    public static async Task<int> KillAtPointsAsync(string dir, IDictionary<string, string> environment, string[] startArgs, string[] resumeArgs,
        string runFolder, IReadOnlyList<KillPoint> points)
    {
        var kills = 0;
        foreach (var point in points)
        {
            var exists = Directory.Exists(runFolder);
            Assert.True(!exists || File.Exists(Path.Combine(runFolder, "state.db")), $"'{runFolder}' exists but holds no run");
            using var p = Start(dir, environment, exists ? resumeArgs : startArgs);
            var stderr = new System.Text.StringBuilder();
            p.ErrorDataReceived += (_, e) => { lock (stderr) stderr.AppendLine(e.Data); };
            p.BeginErrorReadLine();
            var stdout = p.StandardOutput.ReadToEndAsync();
            string SoFar() { lock (stderr) return stderr.ToString(); }
            await point(p, runFolder, SoFar);
            if (!p.HasExited)
            {
                p.Kill();
                kills++;
            }
            await p.WaitForExitAsync();
            await stdout;
            Assert.True(p.ExitCode is 0 or 137, $"exit code {p.ExitCode}: {SoFar()}");
        }
        return kills;
    }
}

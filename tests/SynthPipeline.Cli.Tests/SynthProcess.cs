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
        return Process.Start(info)!;
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
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await p.WaitForExitAsync(timeout.Token);
        return new Result(p.ExitCode, await stdout, await stderr);
    }

    /// <summary>
    /// Starts <paramref name="startArgs"/>, kills it (SIGKILL) after a random delay, and goes on with
    /// <paramref name="resumeArgs"/> once a run folder with state exists, until <paramref name="maxKills"/> kills landed or a
    /// run finished by itself; returns the number of kills. A process killed before it announced its run leaves nothing
    /// to resume, so its folder is removed and the start is repeated.
    /// </summary>
    public static async Task<int> KillAtRandomPointsAsync(string dir, IDictionary<string, string> environment, string[] startArgs, string[] resumeArgs,
        string runFolder, int seed, int maxKills, int minDelayMs, int maxDelayMs)
    {
        var rng = new Random(seed);
        var kills = 0;
        var started = false;
        for (var attempt = 0; attempt < 12 && kills < maxKills; attempt++)
        {
            using var p = Start(dir, environment, started ? resumeArgs : startArgs);
            var stderr = p.StandardError.ReadToEndAsync();
            await Task.Delay(rng.Next(minDelayMs, maxDelayMs));
            if (p.HasExited)
            {
                Assert.True(p.ExitCode == 0, await stderr);
                break;
            }
            p.Kill();
            await p.WaitForExitAsync();
            kills++;
            started = started || File.Exists(Path.Combine(runFolder, "state.db")) && (await stderr).Contains("starting run", StringComparison.Ordinal);
            if (!started && Directory.Exists(runFolder)) Directory.Delete(runFolder, recursive: true);
        }
        return kills;
    }
}

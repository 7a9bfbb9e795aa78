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
}

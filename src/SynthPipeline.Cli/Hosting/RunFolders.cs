using System.Globalization;
using SynthPipeline.Pipeline.State;

namespace SynthPipeline.Cli.Hosting;

/// <summary>Run folders of <c>generate</c> and <c>augment</c>: a new one (checked writable) or an existing one to resume.</summary>
internal static class RunFolders
{
    /// <param name="output">Folder that holds run folders.</param>
    /// <param name="runName">Name of a new run's folder; empty = a timestamped name.</param>
    /// <param name="resume">A run to continue: its folder, or its name under <paramref name="output"/>.</param>
    /// <param name="section">The settings section named in errors ("Generate", "Augment").</param>
    public static (string Folder, bool IsResume) Resolve(string output, string? runName, string? resume, string section)
    {
        if (resume is not null)
        {
            var folder = Directory.Exists(resume) ? resume : Path.Combine(output, resume);
            if (!File.Exists(Path.Combine(folder, RunStore.FileName)))
                throw new ArgumentException($"--resume: '{resume}' is not a run folder (no {RunStore.FileName} in '{Path.GetFullPath(folder)}')");
            return (Path.GetFullPath(folder), true);
        }
        var name = string.IsNullOrWhiteSpace(runName)
            ? "run-" + TimeProvider.System.GetUtcNow().ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)
            : runName;
        var path = Path.GetFullPath(Path.Combine(output, name));
        if (File.Exists(Path.Combine(path, RunStore.FileName)))
            throw new ArgumentException($"the run folder '{path}' already holds a run: continue it with --resume {name}, or choose another --run-name");
        try
        {
            Directory.CreateDirectory(path);
            var probe = Path.Combine(path, ".write-test");
            File.WriteAllText(probe, "ok");
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"the output folder '{path}' is not writable ({section}:Output or --out): {e.Message}", e);
        }
        return (path, false);
    }
}

using System.Text.Json;
using SynthPipeline.Core;
using SynthPipeline.Core.Eval;
using SynthPipeline.Core.Options;
using SynthPipeline.Pipeline.State;

namespace SynthPipeline.Pipeline.Eval;

/// <summary>
/// Where an overnight run (or an augment run) keeps what evaluation, ablations and self-improvement rounds read: the
/// held-out probes, the training examples with their kinds, the adapter, and the student it was trained for.
/// </summary>
public sealed class RunLayout
{
    /// <summary>The overnight run's stored settings (<see cref="RunOptions"/> as JSON) in its state's metadata.</summary>
    public const string SettingsKey = "settings";

    private RunLayout(string folder, string dataFolder)
    {
        Folder = folder;
        DataFolder = dataFolder;
    }

    public string Folder { get; }

    /// <summary>The folder with the augment stage's files: <c>augment/</c> of an overnight run, or an augment run itself.</summary>
    public string DataFolder { get; }

    public string Probes => Path.Combine(DataFolder, ProbeFile.FileName);

    /// <summary>How tables name the run's own probes.</summary>
    public string ProbesDescription => $"held out from this run ({Path.GetRelativePath(Folder, Probes).Replace('\\', '/')})";

    /// <summary>The training examples, one per line with its kind (the augment stage's <c>alpaca.jsonl</c>; probes are not in it).</summary>
    public string Examples => Path.Combine(DataFolder, "alpaca.jsonl");

    /// <summary>The overnight run's adapter, when its training finished.</summary>
    public string? Adapter => File.Exists(Path.Combine(Folder, "train", "adapter.gguf")) ? Path.Combine(Folder, "train", "adapter.gguf") : null;

    /// <exception cref="UserErrorException">The folder is neither an overnight run nor an augment run (--run names it).</exception>
    public static RunLayout Open(string folder)
    {
        var full = Path.GetFullPath(folder);
        if (File.Exists(Path.Combine(full, "augment", "alpaca.jsonl"))) return new RunLayout(full, Path.Combine(full, "augment"));
        if (File.Exists(Path.Combine(full, "alpaca.jsonl")) && File.Exists(Path.Combine(full, RunStore.FileName))) return new RunLayout(full, full);
        throw new UserErrorException($"--run '{folder}': not a synth run folder (no augment/alpaca.jsonl) nor a synth augment run (no alpaca.jsonl and state.db)");
    }

    /// <summary>The model the run trained for (its Run:Student), or null when it used the teacher's model.</summary>
    public string? Student()
    {
        if (!File.Exists(Path.Combine(Folder, RunStore.FileName)) || DataFolder == Folder) return null;
        using var store = RunStore.Open(Folder);
        return store.GetMeta(SettingsKey) is { } json ? JsonSerializer.Deserialize<RunOptions>(json)?.Student : null;
    }
}

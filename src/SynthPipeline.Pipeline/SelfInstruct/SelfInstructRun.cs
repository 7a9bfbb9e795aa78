using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.SemanticKernel;
using SynthPipeline.Core;
using SynthPipeline.Core.Options;
using SynthPipeline.Core.SelfInstruct;
using SynthPipeline.Pipeline.State;
using SynthPipeline.Pipeline.Teacher;

namespace SynthPipeline.Pipeline.SelfInstruct;

/// <summary>
/// <c>synth generate</c> from start to end: the run folder (created whole, or resumed), its stored seeds and settings,
/// the stages and their graph (<see cref="SelfInstructGraph"/>), and the tail that exports the dataset, also after
/// Ctrl+C. A command parses its flags and calls <see cref="Open"/> and <see cref="RunAsync"/>; a test does the same
/// with a scripted teacher.
/// </summary>
public sealed class SelfInstructRun : IDisposable
{
    private const string SettingsKey = "settings";
    private const string SeedsKey = "seed_instructions";
    private const string TeacherKey = "teacher";
    private readonly int _parallelSequences;
    private readonly TimeProvider _time;

    private readonly bool _chatMode;

    private SelfInstructRun(RunFolder folder, GenerateOptions settings, IReadOnlyList<string> seeds, string seedFile, TeacherOptions teacher, TimeProvider time)
    {
        _chatMode = teacher.Mode == TeacherMode.Chat;
        var parallelSequences = teacher.Parallelism();
        Folder = folder;
        Settings = settings;
        Seeds = seeds;
        SeedFile = seedFile;
        _parallelSequences = parallelSequences;
        _time = time;
        Progress = new SelfInstructProgress(time);
    }

    public RunFolder Folder { get; }

    /// <summary>The run's settings: as given for a new run, as stored for a resumed one.</summary>
    public GenerateOptions Settings { get; }

    public IReadOnlyList<string> Seeds { get; }

    public string SeedFile { get; }

    /// <summary>The seed tasks with their examples, as read when the run was created (empty for runs made before they were kept).</summary>
    public IReadOnlyList<SeedTask> SeedTasks { get; private init; } = [];

    public SelfInstructProgress Progress { get; }

    /// <summary>Prompts in flight: the setting, or twice the teacher's parallel sequences.</summary>
    public int Window => Settings.RequestsInFlight > 0 ? Settings.RequestsInFlight : 2 * _parallelSequences;

    /// <summary>Creates a new run from validated <paramref name="options"/> (seeds read first), or resumes <paramref name="resume"/> with its stored settings.</summary>
    /// <exception cref="UserErrorException">Bad seeds, a taken run name, or a run that cannot be resumed.</exception>
    public static SelfInstructRun Open(GenerateOptions options, TeacherOptions teacher, string? resume, TimeProvider time, Action<string>? warn = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(teacher);
        if (resume is null)
        {
            var seedFile = ResolveSeeds(options.Seeds);
            var tasks = SeedReader.Read(seedFile, warn);
            var seeds = tasks.Select(t => t.Instruction).ToList();
            var created = RunFolder.Create(options.Output, options.RunName, RunKind.Generate, $"{GenerateOptions.Section}:Output", store =>
            {
                store.SetMeta(SeedsKey, JsonSerializer.Serialize(new { file = seedFile, instructions = seeds, tasks }));
                store.SetMeta(TeacherKey, JsonSerializer.Serialize(new { teacher.ModelPath, teacher.ParallelSequences, teacher.ContextPerSequence, Endpoints = teacher.Endpoints.Select(e => new { e.Url, e.Model }) }));
                store.SetMeta(SettingsKey, JsonSerializer.Serialize(options));
            }, time);
            return new SelfInstructRun(created, options, seeds, seedFile, teacher, time) { SeedTasks = tasks };
        }
        var folder = RunFolder.Resume(options.Output, resume, RunKind.Generate);
        try
        {
            var seedsJson = folder.Store.GetMeta(SeedsKey);
            var settingsJson = folder.Store.GetMeta(SettingsKey);
            if (seedsJson is null || settingsJson is null)
                throw new UserErrorException($"--resume: '{folder.Path}' is not a generate run (no stored seeds and settings)");
            using var stored = JsonDocument.Parse(seedsJson);
            var seeds = stored.RootElement.GetProperty("instructions").EnumerateArray().Select(e => e.GetString()!).ToList();
            var settings = JsonSerializer.Deserialize<GenerateOptions>(settingsJson)!;
            var tasks = stored.RootElement.TryGetProperty("tasks", out var t) ? t.Deserialize<List<SeedTask>>() ?? [] : [];
            return new SelfInstructRun(folder, settings, seeds, stored.RootElement.GetProperty("file").GetString()!, teacher, time) { SeedTasks = tasks };
        }
        catch
        {
            folder.Dispose();
            throw;
        }
    }

    /// <summary>The first prompt a run with <paramref name="options"/> would send, rendered by the run's own builder (for --dry-run).</summary>
    public static async Task<string> FirstPromptAsync(GenerateOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var seeds = SeedReader.Read(ResolveSeeds(options.Seeds)).Select(t => t.Instruction).ToList();
        var builder = new SelfInstructPromptBuilder(PromptLibrary.Default(), Kernel.CreateBuilder().Build(), seeds, options.PromptTasks,
            options.PromptMachineTasks, options.Seed);
        return (await builder.BuildAsync(0, [], cancellationToken).ConfigureAwait(false)).Text;
    }

    /// <summary>
    /// Runs the graph with <paramref name="teacher"/> until the target is reached, then exports. Ctrl+C (the token)
    /// stops the graph with everything committed so far kept; the export still runs and the outcome says so.
    /// </summary>
    public async Task<RunOutcome> RunAsync(RunTeacher teacher, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(loggers);
        var store = Folder.Store;
        var settings = Settings;
        var grammars = settings.DemoGrammars.Resolve(auto: teacher.IsDemo);
        var prompts = grammars ? PromptLibrary.Demo() : PromptLibrary.Default();
        string? Grammar(string name) => grammars ? File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "prompts", "demo", name + ".gbnf")) : null;

        var kernel = TeacherKernel.Create(teacher.Client);
        // Not disposed here: middleware disposes its inner client, and the teacher belongs to the caller.
        var chains = RoleChains.Build(teacher, TeacherResilience.FromSeconds(settings.StallSeconds, settings.RequestTimeoutSeconds, settings.Retries),
            loggers, _time);
        var requests = new TeacherRequests(chains, store, Progress.Teacher);
        var filter = new InstructionFilter(new InstructionFilterOptions { Blacklist = [.. InstructionFilterOptions.ReferenceBlacklist, .. settings.ExtraBlacklist] });
        var instructionStage = new InstructionStage(Seeds, filter, settings.RougeThreshold, settings.Count);
        var instanceStage = new InstanceStage(requests, prompts, kernel, new InstanceStageSettings(settings.Seed, settings.InstanceMaxTokens,
            settings.InstancesPerTask, (float)settings.InstanceTemperature, (float)settings.TopP,
            File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "prompts", "is-classification.gbnf")),
            Grammar("instances-input-first"), Grammar("instances-output-first"))
        {
            PresencePenalty = (float)settings.InstancePresencePenalty, ClassifyMaxTokens = settings.ClassifyMaxTokens, TopK = settings.TopK, MinP = (float)settings.MinP,
        });
        var graphSettings = new SelfInstructSettings
        {
            Target = settings.Count,
            RunSeed = settings.Seed,
            Window = Window,
            PromptTasks = settings.PromptTasks,
            PromptMachineTasks = settings.PromptMachineTasks,
            InstructionMaxTokens = settings.InstructionMaxTokens,
            Temperature = (float)settings.Temperature,
            TopP = (float)settings.TopP,
            RougeThreshold = settings.RougeThreshold,
            InstructionGrammar = Grammar("instructions"),
            ChatMode = _chatMode,
            PresencePenalty = (float)settings.PresencePenalty,
            FrequencyPenalty = (float)settings.FrequencyPenalty,
            TopK = settings.TopK,
            MinP = (float)settings.MinP,
        };
        var builder = new SelfInstructPromptBuilder(prompts, kernel, Seeds, settings.PromptTasks, settings.PromptMachineTasks, settings.Seed);
        var graph = new SelfInstructGraph(builder, instructionStage, instanceStage, requests, store, graphSettings, Progress, loggers.CreateLogger<SelfInstructGraph>());

        var cancelled = false;
        try
        {
            await graph.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            cancelled = true;
        }
        // Saved state is exported even after Ctrl+C, so the files reflect everything committed.
        await SelfInstructExporter.ExportAsync(store, Folder.Path, new RunDescription(Folder.Name, SeedFile, Seeds.Count, teacher.CardDescription(), teacher.IsDemo, Describe())
        {
            ShuffleSeed = settings.Seed,
            SeedTasks = settings.IncludeSeedTasks ? SeedTasks : [],
        }, CancellationToken.None).ConfigureAwait(false);
        var examples = SelfInstructExporter.Examples(store).Count;
        return new RunOutcome(Folder.Path, cancelled, $"{Progress.Accepted} instructions, {examples} examples; {TeacherUsageReport.Line(store.UsageTotals())}");
    }

    public void Dispose() => Folder.Dispose();

    /// <summary>The seed file as given, or the copy shipped next to the application.</summary>
    private static string ResolveSeeds(string seeds)
    {
        if (File.Exists(seeds) || Path.IsPathRooted(seeds)) return seeds;
        var shipped = Path.Combine(AppContext.BaseDirectory, seeds);
        return File.Exists(shipped) ? shipped : seeds;
    }

    private Dictionary<string, string> Describe()
    {
        var g = Settings;
        return new(StringComparer.Ordinal)
        {
            ["Generate:Count"] = g.Count.ToString(CultureInfo.InvariantCulture),
            ["Generate:Seed"] = g.Seed.ToString(CultureInfo.InvariantCulture),
            ["Generate:PromptTasks"] = $"{g.PromptTasks} ({g.PromptMachineTasks} machine-generated at most)",
            ["Generate:RougeThreshold"] = g.RougeThreshold.ToString(CultureInfo.InvariantCulture),
            ["instructions: Generate:Temperature / TopP / PresencePenalty / FrequencyPenalty / InstructionMaxTokens"] =
                string.Create(CultureInfo.InvariantCulture, $"{g.Temperature} / {g.TopP} / {g.PresencePenalty} / {g.FrequencyPenalty} / {g.InstructionMaxTokens}"),
            ["instances: Generate:InstanceTemperature / TopP / InstancePresencePenalty / InstanceMaxTokens"] =
                string.Create(CultureInfo.InvariantCulture, $"{g.InstanceTemperature}{(g.InstanceTemperature == 0 ? " (greedy)" : "")} / {g.TopP} / {g.InstancePresencePenalty} / {g.InstanceMaxTokens}"),
            ["classification: temperature / Generate:ClassifyMaxTokens"] = string.Create(CultureInfo.InvariantCulture, $"0 (greedy) / {g.ClassifyMaxTokens}"),
            ["every request: Generate:TopK / MinP"] = string.Create(CultureInfo.InvariantCulture, $"{g.TopK}{(g.TopK == 0 ? " (off)" : "")} / {g.MinP}{(g.MinP == 0 ? " (off)" : "")}"),
            ["teacher mode"] = _chatMode ? "chat (the model's chat template)" : "completion (raw prompts)",
            ["Generate:InstancesPerTask"] = g.InstancesPerTask.ToString(CultureInfo.InvariantCulture),
            ["Generate:IncludeSeedTasks"] = g.IncludeSeedTasks ? "yes" : "no",
            ["Generate:ExtraBlacklist"] = g.ExtraBlacklist.Count == 0 ? "(none)" : string.Join(", ", g.ExtraBlacklist),
            ["prompts in flight"] = Window.ToString(CultureInfo.InvariantCulture),
            ["teacher parallelism"] = _parallelSequences.ToString(CultureInfo.InvariantCulture),
        };
    }
}

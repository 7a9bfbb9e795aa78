using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.SemanticKernel;
using Spectre.Console;
using SynthPipeline.Cli.Hosting;
using SynthPipeline.Llama.Teacher;
using SynthPipeline.Options;
using SynthPipeline.Pipeline;
using SynthPipeline.Pipeline.Output;
using SynthPipeline.Pipeline.Seeds;
using SynthPipeline.Pipeline.Stages;
using SynthPipeline.Pipeline.State;
using SynthPipeline.SelfInstruct;

namespace SynthPipeline.Cli.Commands;

/// <summary><c>synth generate</c>: the Self-Instruct run, the tool's main job.</summary>
internal static class GenerateCommand
{
    private const string SettingsKey = "settings";
    private const string SeedsKey = "seed_instructions";

    public static Command Create()
    {
        var seeds = new Option<string?>("--seeds") { Description = "Seed tasks: Self-Instruct JSONL, CSV or text (overrides Generate:Seeds)" };
        var count = new Option<int?>("--count", "-c") { Description = "Instructions to accept (overrides Generate:Count)" };
        var output = new Option<string?>("--out", "-o") { Description = "Folder for run folders (overrides Generate:Output)" };
        var model = new Option<string?>("--model", "-m") { Description = "Teacher GGUF (overrides Teacher:ModelPath; default: the demo model)" };
        var resume = new Option<string?>("--resume") { Description = "Continue a run: its folder, or its name under the output folder" };
        var runName = new Option<string?>("--run-name") { Description = "Name of the new run's folder (default: run-<time>)" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print one rendered prompt and exit" };
        var command = new Command("generate", "Grow seed tasks into an instruction dataset with the teacher (Self-Instruct)")
        {
            seeds, count, output, model, resume, runName, dryRun,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var configuration = AppConfiguration.Build();
            var teacherOptions = AppConfiguration.Teacher(configuration);
            var options = AppConfiguration.Bind<GenerateOptions>(configuration, GenerateOptions.Section);
            if (parse.GetValue(model) is { } m) teacherOptions.ModelPath = m;
            if (parse.GetValue(seeds) is { } s) options.Seeds = s;
            if (parse.GetValue(count) is { } c) options.Count = c;
            if (parse.GetValue(output) is { } o) options.Output = o;
            if (parse.GetValue(runName) is { } r) options.RunName = r;
            teacherOptions.Validate();
            options.Validate();
            var stderr = ConsoleExtensions.ForStandardError();
            var prompts = PromptLibrary.Default();

            if (parse.GetValue(dryRun))
            {
                var seedTasks = SeedReader.Read(ResolveSeeds(options.Seeds));
                var builder = new SelfInstructPromptBuilder(prompts, Kernel.CreateBuilder().Build(), seedTasks.Select(t => t.Instruction).ToList(),
                    options.PromptTasks, options.PromptMachineTasks, options.Seed);
                var prompt = await builder.BuildAsync(0, [], cancellationToken).ConfigureAwait(false);
                await Console.Out.WriteLineAsync(prompt.Text).ConfigureAwait(false);
                return SynthApp.ExitOk;
            }

            // Everything that can be checked is checked before anything is created or the model loads.
            var resumeName = parse.GetValue(resume);
            var newSeeds = resumeName is null ? ReadSeeds(options) : null;
            var (folder, isResume) = RunFolders.Resolve(options.Output, options.RunName, resumeName, GenerateOptions.Section);
            using var runLock = RunLock.Acquire(folder);
            using var store = RunStore.Open(folder);
            var (seedInstructions, seedFile, settings) = isResume ? LoadRun(store, folder) : NewRun(store, options, teacherOptions, newSeeds!.Value);

            using var loggers = Logging.Create(configuration);
            var path = TeacherFactory.ResolveModelPath(teacherOptions, stderr);
            var demo = string.Equals(Path.GetFullPath(path), Path.GetFullPath(TeacherFactory.DemoModelPath), StringComparison.Ordinal);
            using var llama = TeacherFactory.LoadModel(teacherOptions, path, loggers, cancellationToken);
            using var client = TeacherFactory.CreateClient(llama, teacherOptions, loggers);
            var grammars = settings.DemoGrammars.ToUpperInvariant() switch { "ON" => true, "OFF" => false, _ => demo };
            string? Grammar(string name) => grammars ? File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "prompts", "demo", name + ".gbnf")) : null;

            var window = settings.RequestsInFlight > 0 ? settings.RequestsInFlight : 2 * teacherOptions.ParallelSequences;
            var progress = new PipelineProgress(TimeProvider.System);
            var kernel = TeacherKernel.Create(client);
            using var teacher = TeacherFactory.WithResilience(client, settings.StallSeconds, settings.RequestTimeoutSeconds, settings.Retries, loggers);
            var requests = new TeacherRequests(teacher, store, progress);
            var filter = new InstructionFilter(new InstructionFilterOptions
            {
                Blacklist = [.. InstructionFilterOptions.ReferenceBlacklist, .. settings.ExtraBlacklist],
            });
            var instructionStage = new InstructionStage(seedInstructions, filter, settings.RougeThreshold, settings.Count);
            var instanceStage = new InstanceStage(requests, prompts, kernel, new InstanceStageSettings(settings.Seed, settings.InstanceMaxTokens,
                settings.InstancesPerTask, (float)settings.Temperature, (float)settings.TopP,
                File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "prompts", "is-classification.gbnf")),
                Grammar("instances-input-first"), Grammar("instances-output-first")));
            var runSettings = new SelfInstructSettings
            {
                Target = settings.Count,
                RunSeed = settings.Seed,
                Window = window,
                PromptTasks = settings.PromptTasks,
                PromptMachineTasks = settings.PromptMachineTasks,
                InstructionMaxTokens = settings.InstructionMaxTokens,
                Temperature = (float)settings.Temperature,
                TopP = (float)settings.TopP,
                RougeThreshold = settings.RougeThreshold,
                InstructionGrammar = Grammar("instructions"),
            };
            var builderForRun = new SelfInstructPromptBuilder(prompts, kernel, seedInstructions, settings.PromptTasks, settings.PromptMachineTasks, settings.Seed);
            var run = new SelfInstructRun(builderForRun, instructionStage, instanceStage, requests, store, runSettings, progress, loggers.CreateLogger<SelfInstructRun>());
            var description = new RunDescription(Path.GetFileName(folder), seedFile, seedInstructions.Count,
                $"{llama.Description} ({path})", demo, Describe(settings, teacherOptions, window));

            stderr.MarkupLineInterpolated($"[grey]{(isResume ? "resuming" : "starting")} run {folder}: {settings.Count} instructions from {seedInstructions.Count} seed tasks, {window} prompts in flight[/]");
            var view = new GenerateProgressView(stderr, progress, client, !Console.IsErrorRedirected);
            var cancelled = false;
            try
            {
                await view.ShowWhileAsync(run.RunAsync(cancellationToken)).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                cancelled = true;
            }
            DatasetExporter.Export(store, folder, description);
            var engine = client.Metrics();
            stderr.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                $"engine: {engine.PromptTokensProcessed} prompt tokens computed, {engine.PromptTokensReused} reused from shared prefixes, {engine.GeneratedTokens} generated ({engine.BackendSampledTokens} sampled in-graph), {engine.Decodes} decodes; {progress.Elapsed.TotalSeconds:F1} s")));
            var examples = DatasetExporter.Examples(store).Count;
            stderr.MarkupLine((cancelled ? "[yellow]stopped[/]: state saved; continue with --resume " + Markup.Escape(folder) : "[green]done[/]") +
                Markup.Escape($": {progress.Accepted} instructions, {examples} examples in {folder}"));
            return cancelled ? SynthApp.ExitCancelled : SynthApp.ExitOk;
        });
        return command;
    }

    /// <summary>The seed file as given, or the copy shipped next to the application.</summary>
    private static string ResolveSeeds(string seeds)
    {
        if (File.Exists(seeds) || Path.IsPathRooted(seeds)) return seeds;
        var shipped = Path.Combine(AppContext.BaseDirectory, seeds);
        return File.Exists(shipped) ? shipped : seeds;
    }

    private static (string File, List<string> Instructions)? ReadSeeds(GenerateOptions options)
    {
        var file = ResolveSeeds(options.Seeds);
        return (file, SeedReader.Read(file).Select(t => t.Instruction).ToList());
    }

    private static (IReadOnlyList<string> Seeds, string SeedFile, GenerateOptions Settings) NewRun(RunStore store, GenerateOptions options, TeacherOptions teacher,
        (string File, List<string> Instructions) seeds)
    {
        store.SetMeta(SeedsKey, JsonSerializer.Serialize(new { file = seeds.File, instructions = seeds.Instructions }));
        store.SetMeta("teacher", JsonSerializer.Serialize(new { teacher.ModelPath, teacher.ParallelSequences, teacher.ContextPerSequence }));
        // Written last: a run folder with settings is a run that can be resumed.
        store.SetMeta(SettingsKey, JsonSerializer.Serialize(options));
        return (seeds.Instructions, seeds.File, options);
    }

    private static (IReadOnlyList<string> Seeds, string SeedFile, GenerateOptions Settings) LoadRun(RunStore store, string folder)
    {
        var seedsJson = store.GetMeta(SeedsKey) ?? throw new ArgumentException($"--resume: the run in '{folder}' has no stored seeds; it was never started");
        var settingsJson = store.GetMeta(SettingsKey) ?? throw new ArgumentException($"--resume: the run in '{folder}' has no stored settings; it was stopped before it started, so start it again");
        using var seeds = JsonDocument.Parse(seedsJson);
        var instructions = seeds.RootElement.GetProperty("instructions").EnumerateArray().Select(e => e.GetString()!).ToList();
        var settings = JsonSerializer.Deserialize<GenerateOptions>(settingsJson)!;
        return (instructions, seeds.RootElement.GetProperty("file").GetString()!, settings);
    }

    private static Dictionary<string, string> Describe(GenerateOptions g, TeacherOptions t, int window) => new(StringComparer.Ordinal)
    {
        ["Generate:Count"] = g.Count.ToString(CultureInfo.InvariantCulture),
        ["Generate:Seed"] = g.Seed.ToString(CultureInfo.InvariantCulture),
        ["Generate:PromptTasks"] = $"{g.PromptTasks} ({g.PromptMachineTasks} machine-generated at most)",
        ["Generate:RougeThreshold"] = g.RougeThreshold.ToString(CultureInfo.InvariantCulture),
        ["Generate:Temperature / TopP"] = $"{g.Temperature.ToString(CultureInfo.InvariantCulture)} / {g.TopP.ToString(CultureInfo.InvariantCulture)}",
        ["Generate:InstancesPerTask"] = g.InstancesPerTask.ToString(CultureInfo.InvariantCulture),
        ["Generate:ExtraBlacklist"] = g.ExtraBlacklist.Count == 0 ? "(none)" : string.Join(", ", g.ExtraBlacklist),
        ["prompts in flight"] = window.ToString(CultureInfo.InvariantCulture),
        ["Teacher:ParallelSequences"] = t.ParallelSequences.ToString(CultureInfo.InvariantCulture),
    };
}

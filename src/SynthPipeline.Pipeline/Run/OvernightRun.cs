using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using SynthPipeline.Core.Options;
using SynthPipeline.Core.Eval;
using SynthPipeline.Pipeline.Augment;
using SynthPipeline.Pipeline.Eval;
using SynthPipeline.Pipeline.Progress;
using SynthPipeline.Pipeline.SelfInstruct;
using SynthPipeline.Pipeline.State;
using SynthPipeline.Pipeline.Teacher;
using SynthPipeline.Training;
using SynthPipeline.Training.Runs;

namespace SynthPipeline.Pipeline.Run;

/// <summary>One stage of an overnight run as it ended: its folder, how long it took in this process, and what it made.</summary>
public sealed record StageOutcome(string Stage, string Folder, TimeSpan Elapsed, string Summary, bool Skipped);

/// <summary>What an overnight run made, stage by stage; cancelled when Ctrl+C stopped it (everything so far is kept).</summary>
public sealed record OvernightOutcome(string Folder, bool Cancelled, IReadOnlyList<StageOutcome> Stages);

/// <summary>
/// <c>synth run</c>: Self-Instruct (when there are seeds), then variants over the generated pairs and the corpus,
/// then LoRA training on everything, in one run folder whose stages are the existing runs in sub-folders
/// (<c>generate/</c>, <c>augment/</c>, <c>train/</c>). Each stage is resumable on its own, so a resumed overnight run
/// continues the stage it was in, with nothing lost or repeated, and skips those already done. The stage order and
/// settings are stored in the run's own state.
/// </summary>
public sealed class OvernightRun : IDisposable
{
    private const string SettingsKey = RunLayout.SettingsKey;
    private readonly TimeProvider _time;

    private OvernightRun(RunFolder folder, RunOptions options, TimeProvider time)
    {
        Folder = folder;
        Options = options;
        _time = time;
    }

    public RunFolder Folder { get; }

    /// <summary>The local teacher's loaded weights, if any: the evaluation stage's students share them when the student is the same file.</summary>
    public Llama.LlamaModel? TeacherModel { get; set; }

    /// <summary>The run's settings: as given for a new run, as stored for a resumed one.</summary>
    public RunOptions Options { get; }

    public static OvernightRun Open(RunOptions options, string? resume, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (resume is null)
        {
            options.Validate();
            var folder = RunFolder.Create(options.Output, options.RunName, RunKind.Overnight, $"{RunOptions.Section}:Output",
                store => store.SetMeta(SettingsKey, JsonSerializer.Serialize(options)), time);
            return new OvernightRun(folder, options, time);
        }
        var resumed = RunFolder.Resume(options.Output, resume, RunKind.Overnight);
        var stored = JsonSerializer.Deserialize<RunOptions>(resumed.Store.GetMeta(SettingsKey)!)!;
        return new OvernightRun(resumed, stored, time);
    }

    /// <summary>
    /// Runs the stages not yet done. <paramref name="watch"/> is handed each stage as it starts: its name, its progress
    /// (null for training, which logs its steps) and the task to watch until it ends (for the one progress display).
    /// </summary>
    public async Task<OvernightOutcome> RunAsync(RunTeacher teacher, TeacherOptions teacherOptions, GenerateOptions generate, AugmentOptions augment,
        EvalOptions eval, string studentPath, ILoggerFactory loggers, Func<string, IRunProgress?, Task, Task> watch, Action<string> log, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(generate);
        ArgumentNullException.ThrowIfNull(augment);
        ArgumentNullException.ThrowIfNull(watch);
        var stages = new List<StageOutcome>();
        OvernightOutcome Stop() => new(Folder.Path, true, stages);
        // Each stage's size is known only when the one before it ends, so the display gives the stage's own ETA and
        // where the run stands: stage k of n, and how long this process has been at it.
        string[] plan = [.. new[] { ("generate", !string.IsNullOrWhiteSpace(Options.Seeds)), ("augment", true), ("train", !Options.SkipTrain), ("eval", !Options.SkipTrain && !Options.SkipEval) }
            .Where(s => s.Item2).Select(s => s.Item1)];
        var runStarted = _time.GetTimestamp();
        var inner = watch;
        watch = (stage, progress, work) => inner(FormattableString.Invariant(
            $"{stage} ({Array.IndexOf(plan, stage) + 1} of {plan.Length}; the run is {_time.GetElapsedTime(runStarted):hh\\:mm\\:ss} in)"), progress, work);

        string? pairs = null;
        if (!string.IsNullOrWhiteSpace(Options.Seeds))
        {
            generate.Seeds = Options.Seeds;
            generate.Count = Options.Count;
            var outcome = await StageAsync("generate", stages, async () =>
            {
                using var run = SelfInstructRun.Open(Sub(generate, "generate"), teacherOptions, ResumeOf("generate"), _time, log);
                var work = run.RunAsync(teacher, loggers, cancellationToken);
                await watch("generate", run.Progress, work).ConfigureAwait(false);
                return await work.ConfigureAwait(false);
            }).ConfigureAwait(false);
            if (outcome.Cancelled) return Stop();
            pairs = Path.Combine(Folder.Path, "generate", "alpaca.jsonl");
        }

        augment.Corpus = string.IsNullOrWhiteSpace(Options.Corpus) ? null : Options.Corpus;
        augment.Pairs = pairs;
        augment.HoldOut = Options.HoldOut;
        var augmented = await StageAsync("augment", stages, async () =>
        {
            var resume = ResumeOf("augment");
            if (resume is null) AugmentRun.CheckNew(augment, teacherOptions);
            using var run = AugmentRun.Open(Sub(augment, "augment"), teacherOptions, resume, _time);
            var work = run.RunAsync(teacher, loggers, cancellationToken);
            await watch("augment", run.Progress, work).ConfigureAwait(false);
            return await work.ConfigureAwait(false);
        }).ConfigureAwait(false);
        if (augmented.Cancelled) return Stop();

        if (Options.SkipTrain)
            stages.Add(new StageOutcome("train", "", TimeSpan.Zero, "skipped (--skip-train)", Skipped: true));
        else if ((await StageAsync("train", stages, () => TrainAsync(studentPath, watch, log, cancellationToken)).ConfigureAwait(false)).Cancelled)
            return Stop();

        var probes = Path.Combine(Folder.Path, "augment", ProbeFile.FileName);
        var adapter = Path.Combine(Folder.Path, "train", "adapter.gguf");
        var skipEval = Options.SkipEval ? "skipped (--skip-eval)"
            : Options.SkipTrain || !File.Exists(adapter) ? "skipped: no adapter to evaluate"
            : !File.Exists(probes) ? "skipped: no held-out probes (Run:HoldOut is 0, or too few examples)"
            : Directory.Exists(studentPath) ? "skipped: the student is a Hugging Face folder; evaluate its GGUF with synth eval --run <run> --base model.gguf"
            : null;
        if (skipEval is not null)
            stages.Add(new StageOutcome("eval", "", TimeSpan.Zero, skipEval, Skipped: true));
        else if ((await StageAsync("eval", stages, () => EvaluateAsync(probes, adapter, teacher, teacherOptions, eval, studentPath, loggers, watch, log, cancellationToken))
                     .ConfigureAwait(false)).Cancelled)
            return Stop();
        Output.AtomicFile.WriteText(Path.Combine(Folder.Path, OvernightReportPage.StagesFile), System.Text.Json.JsonSerializer.Serialize(stages));
        OvernightReportPage.Refresh(Folder.Path);
        return new OvernightOutcome(Folder.Path, false, stages);
    }

    /// <summary>The base and the base with the new adapter on the held-out probes; answers and verdicts resume from eval/state.db.</summary>
    private async Task<RunOutcome> EvaluateAsync(string probes, string adapter, RunTeacher teacher, TeacherOptions teacherOptions, EvalOptions options, string studentPath,
        ILoggerFactory loggers, Func<string, IRunProgress?, Task, Task> watch, Action<string> log, CancellationToken cancellationToken)
    {
        var folder = Path.Combine(Folder.Path, "eval");
        var inputs = new EvalInputs(ProbeFile.Read(probes), RunLayout.Open(Folder.Path).ProbesDescription, studentPath, teacher, teacherOptions, options) { TeacherModel = TeacherModel };
        try
        {
            var work = EvaluationRun.RunAsync(folder, inputs, [new EvalTarget("base", null), new EvalTarget("base + adapter", adapter)], loggers, log, cancellationToken);
            await watch("eval", null, work).ConfigureAwait(false);
            var metrics = await work.ConfigureAwait(false);
            string Value(string key) => metrics[^1].Metrics.First(m => m.Key == key).Value is { } v ? v.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture) : "—";
            return new RunOutcome(folder, false, $"adapter: correction {Value("false_premise_correction")}, refusal {Value("refusal_rate")}, over-refusal {Value("over_refusal")}, correct {Value("correctness")}, combined {Value("combination_all")}; table in eval/eval.md");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return new RunOutcome(folder, true, "stopped; answers and verdicts so far are kept in eval/state.db");
        }
    }

    private async Task<RunOutcome> TrainAsync(string studentPath, Func<string, IRunProgress?, Task, Task> watch, Action<string> log, CancellationToken cancellationToken)
    {
        var folder = Path.Combine(Folder.Path, "train");
        // The augment stage's conversations hold every generated pair as a legitimate example (and leave out the
        // held-out probes); generate's own files would put the probes' questions back in.
        var data = new[] { Path.Combine(Folder.Path, "augment", "openai-chat.jsonl") }.Where(File.Exists).ToList();
        var settings = new TrainSettings(data, studentPath, folder, new LoraOptions(),
            new TrainerOptions { MaxSteps = Options.TrainSteps, CheckpointEvery = Options.CheckpointEvery, WarmupSteps = Math.Min(10, Math.Max(1, Options.TrainSteps / 10)) }, 0.1);
        var resume = Directory.Exists(Path.Combine(folder, TrainingRun.CheckpointFolder));
        // Training blocks in native code for hours: on its own thread, so Ctrl+C handling keeps running.
        var started = _time.GetTimestamp();
        int? firstStep = null;
        var work = Task.Factory.StartNew(() => TrainingRun.Run(settings, resume, log, step =>
            {
                // The stage's ETA from the steps this process has run (a resumed run's earlier steps took no time here).
                firstStep ??= step.Step - 1;
                var perStep = _time.GetElapsedTime(started).TotalSeconds / Math.Max(1, step.Step - firstStep.Value);
                var eta = step.TotalSteps > step.Step ? FormattableString.Invariant($", ETA {TimeSpan.FromSeconds(Math.Round(perStep * (step.TotalSteps - step.Step)))}") : "";
                log(FormattableString.Invariant($"train step {step.Step}/{step.TotalSteps}: loss {step.Loss:F4}{(step.EvalLoss is { } e ? $", eval loss {e:F4}" : "")}{eta}"));
            }, cancellationToken),
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        await watch("train", null, work).ConfigureAwait(false);
        var result = await work.ConfigureAwait(false);
        Report.LossCurves.WritePage(folder, $"Training: {Folder.Name}");
        var last = result.Steps.LastOrDefault();
        return new RunOutcome(folder, !result.Completed,
            FormattableString.Invariant($"{result.Steps.Count} steps on {result.Device}, {result.TrainExamples} conversations, final loss {last?.Loss:F4}{(last?.EvalLoss is { } ev ? $", eval loss {ev:F4}" : "")}; adapter {result.GgufAdapter}"));
    }

    private async Task<RunOutcome> StageAsync(string name, List<StageOutcome> stages, Func<Task<RunOutcome>> run)
    {
        var started = _time.GetTimestamp();
        var outcome = await run().ConfigureAwait(false);
        stages.Add(new StageOutcome(name, outcome.Folder, _time.GetElapsedTime(started), outcome.Summary, Skipped: false));
        return outcome;
    }

    /// <summary>The stage's sub-folder name when it exists (resume it), else null (start it).</summary>
    private string? ResumeOf(string stage) => File.Exists(Path.Combine(Folder.Path, stage, RunStore.FileName)) ? stage : null;

    private GenerateOptions Sub(GenerateOptions options, string name)
    {
        options.Output = Folder.Path;
        options.RunName = name;
        return options;
    }

    private AugmentOptions Sub(AugmentOptions options, string name)
    {
        options.Output = Folder.Path;
        options.RunName = name;
        return options;
    }

    public void Dispose() => Folder.Dispose();
}

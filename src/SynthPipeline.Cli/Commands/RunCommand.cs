using System.CommandLine;
using Spectre.Console;
using SynthPipeline.Cli.Hosting;
using SynthPipeline.Core.Options;
using SynthPipeline.Pipeline.Run;
using SynthPipeline.Pipeline.Teacher;

namespace SynthPipeline.Cli.Commands;

/// <summary><c>synth run</c>: the overnight command, from seeds and documents to a dataset and a trained adapter.</summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var seeds = new Option<string?>("--seeds") { Description = "Seed tasks for Self-Instruct (default: the shipped seeds)" };
        var corpus = new Option<string?>("--corpus") { Description = "Folder of documents for grounded questions (default: the shipped corpus)" };
        var count = new Option<int?>("--count", "-c") { Description = "Instructions Self-Instruct accepts (overrides Run:Count)" };
        var student = new Option<string?>("--student") { Description = "Model the adapter is trained for: GGUF or Hugging Face folder (default: the teacher's model)" };
        var output = new Option<string?>("--out", "-o") { Description = "Folder for run folders (overrides Run:Output)" };
        var runName = new Option<string?>("--run-name") { Description = "Name of the run's folder (default: run-<time>)" };
        var resume = new Option<string?>("--resume") { Description = "Continue a run: its folder, or its name under the output folder" };
        var skipTrain = new Option<bool>("--skip-train") { Description = "Stop after the data" };
        var skipEval = new Option<bool>("--skip-eval") { Description = "Stop after training: no evaluation of base against adapter" };
        var trainSteps = new Option<int?>("--train-steps") { Description = "LoRA optimizer steps (0: one epoch; overrides Run:TrainSteps)" };
        var teacherFlags = new TeacherFlags();
        var command = new Command("run", "The overnight run: Self-Instruct, variants and grounded questions, mixed conversations, exports and a LoRA adapter, in one resumable folder")
        {
            seeds, corpus, count, student, output, runName, resume, skipTrain, skipEval, trainSteps,
        };
        teacherFlags.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var configuration = AppConfiguration.Build();
            var teacherOptions = teacherFlags.Resolve(parse, configuration);
            var options = AppConfiguration.Bind<RunOptions>(configuration, RunOptions.Section);
            if (parse.GetValue(seeds) is { } s) options.Seeds = s;
            if (parse.GetValue(corpus) is { } c) options.Corpus = c;
            if (parse.GetValue(count) is { } n) options.Count = n;
            if (parse.GetValue(student) is { } m) options.Student = m;
            if (parse.GetValue(output) is { } o) options.Output = o;
            if (parse.GetValue(runName) is { } r) options.RunName = r;
            if (parse.GetValue(trainSteps) is { } t) options.TrainSteps = t;
            if (parse.GetValue(skipTrain)) options.SkipTrain = true;
            if (parse.GetValue(skipEval)) options.SkipEval = true;
            var generate = AppConfiguration.Bind<GenerateOptions>(configuration, GenerateOptions.Section);
            var augment = AppConfiguration.Bind<AugmentOptions>(configuration, AugmentOptions.Section);
            var eval = AppConfiguration.Bind<EvalOptions>(configuration, EvalOptions.Section).Validate();

            var stderr = ConsoleExtensions.ForStandardError();
            using var run = OvernightRun.Open(options, parse.GetValue(resume), TimeProvider.System);
            using var loggers = Logging.Create(configuration);
            // The student is checked before the teacher is opened: a remote teacher's run needs one named.
            var studentPath = await RunStart.OrDiscardAsync(run.Folder, () => Task.FromResult(StudentOf(run, teacherOptions))).ConfigureAwait(false);
            using var teacher = await RunStart.OrDiscardAsync(run.Folder, () => TeacherSession.OpenAsync(teacherOptions, loggers, stderr.Notice, cancellationToken)).ConfigureAwait(false);
            LocalTeacher.InitializeNative(teacherOptions, loggers);
            run.TeacherModel = teacher.Engine?.Model;
            stderr.MarkupLineInterpolated($"[grey]{(run.Folder.IsResume ? "resuming" : "starting")} run {run.Folder.Path}[/]");
            var live = !Console.IsErrorRedirected;
            var outcome = await run.RunAsync(teacher.Teacher, teacherOptions, generate, augment, eval, studentPath, loggers, (stage, progress, work) =>
            {
                // One renderer, stage after stage: the stage's counts, rejections and ETA, live in a terminal, as lines otherwise.
                stderr.MarkupLineInterpolated($"[bold]stage {stage}[/]");
                return progress is null ? work : new ProgressView(stderr, progress, teacher.Engine, live).ShowWhileAsync(work);
            }, line => stderr.WriteLine(line), cancellationToken).ConfigureAwait(false);
            return MorningSummary.Print(Console.Out, outcome);
        });
        return command;
    }

    /// <summary>The model the run trains for: its --student, else the local teacher's own model; none for a run that does not train.</summary>
    private static string StudentOf(OvernightRun run, TeacherOptions teacher) =>
        run.Options.SkipTrain ? string.Empty
        : run.Options.Student ?? (teacher.UsesLocalModel ? LocalTeacher.ResolveModelPath(teacher, _ => { })
            : throw new OptionsValidationError([run.Folder.IsResume
                ? "Run:Student: this run trains the teacher's own model, and the teacher is now remote: resume it with that model (-m)"
                : "Run:Student: the teacher is remote, so name the model to train (--student), or stop after the data (--skip-train)"]));
}

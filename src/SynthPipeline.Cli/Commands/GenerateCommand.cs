using System.CommandLine;
using Spectre.Console;
using SynthPipeline.Cli.Hosting;
using SynthPipeline.Core.Options;
using SynthPipeline.Pipeline.SelfInstruct;
using SynthPipeline.Pipeline.Teacher;

namespace SynthPipeline.Cli.Commands;

/// <summary><c>synth generate</c>: the Self-Instruct run, the tool's main job.</summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var seeds = new Option<string?>("--seeds") { Description = "Seed tasks: Self-Instruct JSONL, CSV or text (overrides Generate:Seeds)" };
        var count = new Option<int?>("--count", "-c") { Description = "Instructions to accept (overrides Generate:Count)" };
        var output = new Option<string?>("--out", "-o") { Description = "Folder for run folders (overrides Generate:Output)" };
        var teacherFlags = new TeacherFlags();
        var resume = new Option<string?>("--resume") { Description = "Continue a run: its folder, or its name under the output folder" };
        var runName = new Option<string?>("--run-name") { Description = "Name of the new run's folder (default: run-<time>)" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print one rendered prompt and exit" };
        var includeSeeds = new Option<bool>("--include-seed-tasks") { Description = "Put the seed tasks' own examples into the training files too (overrides Generate:IncludeSeedTasks)" };
        var command = new Command("generate", "Grow seed tasks into an instruction dataset with the teacher (Self-Instruct)")
        {
            seeds, count, output, resume, runName, dryRun, includeSeeds,
        };
        teacherFlags.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var configuration = AppConfiguration.Build();
            var teacherOptions = teacherFlags.Resolve(parse, configuration);
            var options = AppConfiguration.Bind<GenerateOptions>(configuration, GenerateOptions.Section);
            if (parse.GetValue(seeds) is { } s) options.Seeds = s;
            if (parse.GetValue(count) is { } c) options.Count = c;
            if (parse.GetValue(output) is { } o) options.Output = o;
            if (parse.GetValue(runName) is { } r) options.RunName = r;
            if (parse.GetValue(includeSeeds)) options.IncludeSeedTasks = true;
            options.Validate();
            if (parse.GetValue(dryRun))
            {
                await Console.Out.WriteLineAsync(await SelfInstructRun.FirstPromptAsync(options, cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
                return SynthApp.ExitOk;
            }

            var stderr = ConsoleExtensions.ForStandardError();
            using var run = SelfInstructRun.Open(options, teacherOptions, parse.GetValue(resume), TimeProvider.System, stderr.Warning);
            using var loggers = Logging.Create(configuration);
            using var teacher = await RunStart.OrDiscardAsync(run.Folder, () => TeacherSession.OpenAsync(teacherOptions, loggers, stderr.Notice, cancellationToken)).ConfigureAwait(false);
            stderr.MarkupLineInterpolated($"[grey]{(run.Folder.IsResume ? "resuming" : "starting")} run {run.Folder.Path}: {run.Settings.Count} instructions from {run.Seeds.Count} seed tasks, {run.Window} prompts in flight[/]");
            var work = run.RunAsync(teacher.Teacher, loggers, cancellationToken);
            await new ProgressView(stderr, run.Progress, teacher.Engine, !Console.IsErrorRedirected).ShowWhileAsync(work).ConfigureAwait(false);
            return RunSummary.Print(stderr, await work.ConfigureAwait(false), teacher.Engine, run.Progress.Elapsed);
        });
        return command;
    }
}

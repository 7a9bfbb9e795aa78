using System.CommandLine;
using Spectre.Console;
using SynthPipeline.Cli.Hosting;
using SynthPipeline.Core;
using SynthPipeline.Core.Eval;
using SynthPipeline.Core.Options;
using SynthPipeline.Pipeline.Eval;
using SynthPipeline.Pipeline.Loop;
using SynthPipeline.Pipeline.Teacher;
using SynthPipeline.Training;

namespace SynthPipeline.Cli.Commands;

/// <summary><c>synth loop</c>: ReST-EM rounds on a run: the student answers, the judge filters, a fresh adapter trains, the probes measure.</summary>
internal static class LoopCommand
{
    public static Command Create()
    {
        var run = new Option<string>("--run") { Description = "The synth run folder whose training prompts and probes the rounds use", Required = true };
        var rounds = new Option<int>("--rounds") { DefaultValueFactory = _ => 2, Description = "Rounds of sample, filter, train and evaluate" };
        var samples = new Option<int?>("--samples") { Description = "Answers per training prompt each round (overrides Eval:Samples)" };
        var baseModel = new Option<string?>("--base") { Description = "Base GGUF (default: the run's student, else the teacher's model)" };
        var teacherFlags = new TeacherFlags();
        var command = new Command("loop", "Self-improvement rounds (ReST-EM): the student's own answers, filtered by the judge, train the next adapter") { run, rounds, samples, baseModel };
        teacherFlags.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var configuration = AppConfiguration.Build();
            var teacherOptions = teacherFlags.Resolve(parse, configuration);
            var options = AppConfiguration.Bind<EvalOptions>(configuration, EvalOptions.Section);
            if (parse.GetValue(samples) is { } k) options.Samples = k;
            options.Validate();
            var roundCount = parse.GetValue(rounds);
            if (roundCount is < 1 or > 100) throw new UserErrorException($"--rounds {roundCount} must be between 1 and 100");
            var layout = RunLayout.Open(parse.GetValue(run)!);
            if (!File.Exists(layout.Probes)) throw new UserErrorException($"'{layout.Probes}': the run held out no probes to measure the rounds with (Run:HoldOut)");
            var stderr = ConsoleExtensions.ForStandardError();
            using var loggers = Logging.Create(configuration);
            using var teacher = await TeacherSession.OpenAsync(teacherOptions, loggers, stderr.Notice, cancellationToken).ConfigureAwait(false);
            var student = parse.GetValue(baseModel) ?? layout.Student() ?? LocalTeacher.ResolveModelPath(teacherOptions, _ => { });
            var inputs = new EvalInputs(ProbeFile.Read(layout.Probes), layout.ProbesDescription, student, teacher.Teacher, teacherOptions, options) { TeacherModel = teacher.Engine?.Model };
            var folder = Path.Combine(layout.Folder, "loop");
            var loop = new SelfImprovementLoop(layout, inputs, new TrainerOptions { MaxSteps = options.TrainSteps, CheckpointEvery = 10, WarmupSteps = 2 }, loggers, line => stderr.WriteLine(line));
            var result = await loop.RunAsync(folder, roundCount, cancellationToken).ConfigureAwait(false);
            if (result is null)
            {
                stderr.MarkupLine(Markup.Escape($"stopped: answers, verdicts and the training checkpoint are kept; run the same command again to continue ({folder})"));
                return SynthApp.ExitCancelled;
            }
            Pipeline.Run.OvernightReportPage.Refresh(layout.Folder);
            await Console.Out.WriteAsync(File.ReadAllText(Path.Combine(folder, "loop.md"))).ConfigureAwait(false);
            stderr.MarkupLine(Markup.Escape($"wrote {Path.Combine(folder, "loop.md")} and report.html"));
            return SynthApp.ExitOk;
        });
        return command;
    }
}

using System.CommandLine;
using Spectre.Console;
using SynthPipeline.Cli.Hosting;
using SynthPipeline.Core;
using SynthPipeline.Core.Eval;
using SynthPipeline.Core.Options;
using SynthPipeline.Pipeline.Eval;
using SynthPipeline.Pipeline.Loop;
using SynthPipeline.Pipeline.State;
using SynthPipeline.Pipeline.Teacher;
using SynthPipeline.Training;

namespace SynthPipeline.Cli.Commands;

/// <summary><c>synth eval</c>: the base against the base with an adapter on probes, graded by the judge; <c>--ablate</c> trains and compares the data arms.</summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var run = new Option<string?>("--run") { Description = "A synth run folder: its held-out probes, its adapter and its student" };
        var probes = new Option<string?>("--probes") { Description = "Probe JSONL: question, kind (legitimate|negative|refusal), reference, optional source (default: the run's held-out probes)" };
        var adapters = new Option<string[]>("--adapter") { Description = "Adapter GGUF to compare with the base (repeatable; default: the run's)", AllowMultipleArgumentsPerToken = false };
        var baseModel = new Option<string?>("--base") { Description = "Base GGUF (default: the run's student, else the teacher's model)" };
        var output = new Option<string?>("--out", "-o") { Description = "Folder for eval.json, eval.md and report.html (default: <run>/eval, or output/eval-<time>)" };
        var ablate = new Option<bool>("--ablate") { Description = "Train adapters at one token budget on legitimate only, + negatives, + refusals and all, and evaluate each (needs --run)" };
        var teacherFlags = new TeacherFlags();
        var command = new Command("eval", "Measure what the data did: false-premise correction, refusals, over-refusal, correctness and combined turns, base against adapter")
        {
            run, probes, adapters, baseModel, output, ablate,
        };
        teacherFlags.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var configuration = AppConfiguration.Build();
            var teacherOptions = teacherFlags.Resolve(parse, configuration);
            var options = AppConfiguration.Bind<EvalOptions>(configuration, EvalOptions.Section).Validate();
            var layout = parse.GetValue(run) is { } r ? RunLayout.Open(r) : null;
            var probeFile = parse.GetValue(probes) ?? layout?.Probes ?? throw new UserErrorException("give --run (a synth run folder) or --probes (a probe JSONL file)");
            if (!File.Exists(probeFile)) throw new UserErrorException($"'{probeFile}': no probes (the run held none out: set Run:HoldOut above 0, or give --probes)");
            var probeSet = ProbeFile.Read(probeFile);
            var stderr = ConsoleExtensions.ForStandardError();
            using var loggers = Logging.Create(configuration);
            using var teacher = await TeacherSession.OpenAsync(teacherOptions, loggers, stderr.Notice, cancellationToken).ConfigureAwait(false);
            var student = parse.GetValue(baseModel) ?? layout?.Student() ?? LocalTeacher.ResolveModelPath(teacherOptions, _ => { });
            var folder = Path.GetFullPath(parse.GetValue(output) ?? (layout is not null ? Path.Combine(layout.Folder, parse.GetValue(ablate) ? "eval-ablate" : "eval")
                : Path.Combine("output", RunFolder.TimedName("eval", TimeProvider.System))));
            var inputs = new EvalInputs(probeSet, parse.GetValue(probes) is null && layout is not null ? layout.ProbesDescription : probeFile, student, teacher.Teacher, teacherOptions, options) { TeacherModel = teacher.Engine?.Model };
            void Log(string line) => stderr.WriteLine(line);
            IReadOnlyList<StudentMetrics>? metrics;
            if (parse.GetValue(ablate))
            {
                if (layout is null) throw new UserErrorException("--ablate trains on a run's examples: give --run");
                metrics = await Ablation.RunAsync(layout, inputs, folder, new TrainerOptions { MaxSteps = options.TrainSteps, CheckpointEvery = 10, WarmupSteps = 2 }, loggers, Log, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                var given = parse.GetValue(adapters) ?? [];
                var chosen = given.Length > 0 ? given : layout?.Adapter is { } a ? [a] : [];
                var targets = new List<EvalTarget> { new("base", null) };
                targets.AddRange(chosen.Select(c => new EvalTarget(chosen.Length == 1 ? "base + adapter" : "base + " + Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(c))) + "/" + Path.GetFileName(c), c)));
                metrics = await EvaluationRun.RunAsync(folder, inputs, targets, loggers, Log, cancellationToken).ConfigureAwait(false);
            }
            if (metrics is null)
            {
                stderr.MarkupLine(Markup.Escape($"stopped: checkpoints, answers and verdicts so far are kept; run the same command again to continue ({folder})"));
                return SynthApp.ExitCancelled;
            }
            if (layout is not null) Pipeline.Run.OvernightReportPage.Refresh(layout.Folder);
            await Console.Out.WriteAsync(File.ReadAllText(Path.Combine(folder, "eval.md"))).ConfigureAwait(false);
            stderr.MarkupLine(Markup.Escape($"wrote {Path.Combine(folder, "eval.json")}, eval.md and report.html"));
            return SynthApp.ExitOk;
        });
        return command;
    }
}

using System.CommandLine;
using Spectre.Console;
using SynthPipeline.Cli.Hosting;
using SynthPipeline.Core.Options;
using SynthPipeline.Llama;
using SynthPipeline.Pipeline.Augment;
using SynthPipeline.Pipeline.Teacher;

namespace SynthPipeline.Cli.Commands;

/// <summary><c>synth augment</c>: documents (and accepted pairs) into grounded, negative and refusal conversations.</summary>
internal static class AugmentCommand
{
    public static Command Create()
    {
        var folderArgument = new Argument<string?>("folder") { Description = "Folder of .txt, .md, .html and .pdf documents (overrides Augment:Corpus)", Arity = ArgumentArity.ZeroOrOne };
        var pairs = new Option<string?>("--pairs") { Description = "Instruction/answer JSONL (e.g. a generate run's alpaca.jsonl) to build negative and refusal variants from (overrides Augment:Pairs)" };
        var output = new Option<string?>("--out", "-o") { Description = "Folder for run folders (overrides Augment:Output)" };
        var teacherFlags = new TeacherFlags();
        var resume = new Option<string?>("--resume") { Description = "Continue a run: its folder, or its name under the output folder" };
        var runName = new Option<string?>("--run-name") { Description = "Name of the new run's folder (default: run-<time>)" };
        var chunkTokens = new Option<int?>("--chunk-tokens") { Description = "Largest chunk in teacher tokens (overrides Augment:ChunkTokens)" };
        var judgeVotes = new Option<int?>("--judge-votes") { Description = "Teacher-judge votes per check, majority decides (overrides Augment:JudgeVotes)" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print the first chunk's question, negative and refusal prompts and exit (loads only the teacher's tokenizer)" };
        var command = new Command("augment", "Turn domain documents into grounded Q/A, false-premise corrections and refusals, mixed into conversations")
        {
            folderArgument, pairs, output, resume, runName, chunkTokens, judgeVotes, dryRun,
        };
        teacherFlags.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var configuration = AppConfiguration.Build();
            var teacherOptions = teacherFlags.Resolve(parse, configuration);
            var options = AppConfiguration.Bind<AugmentOptions>(configuration, AugmentOptions.Section);
            if (parse.GetValue(folderArgument) is { } f) options.Corpus = f;
            if (parse.GetValue(pairs) is { } p) options.Pairs = p;
            if (parse.GetValue(output) is { } o) options.Output = o;
            if (parse.GetValue(runName) is { } r) options.RunName = r;
            if (parse.GetValue(chunkTokens) is { } ct) options.ChunkTokens = ct;
            if (parse.GetValue(judgeVotes) is { } jv) options.JudgeVotes = jv;
            if (string.IsNullOrWhiteSpace(options.Corpus)) options.Corpus = null;
            if (string.IsNullOrWhiteSpace(options.Pairs)) options.Pairs = null;
            var resumeName = parse.GetValue(resume);
            if (resumeName is null) AugmentRun.CheckNew(options, teacherOptions);
            var stderr = ConsoleExtensions.ForStandardError();
            using var loggers = Logging.Create(configuration);
            if (parse.GetValue(dryRun))
            {
                await PrintPromptsAsync(options, teacherOptions, stderr, loggers, cancellationToken).ConfigureAwait(false);
                return SynthApp.ExitOk;
            }

            using var run = AugmentRun.Open(options, teacherOptions, resumeName, TimeProvider.System);
            using var teacher = await RunStart.OrDiscardAsync(run.Folder, () => TeacherSession.OpenAsync(teacherOptions, loggers, stderr.Notice, cancellationToken)).ConfigureAwait(false);
            stderr.MarkupLineInterpolated($"[grey]{(run.Folder.IsResume ? "resuming" : "starting")} run {run.Folder.Path}: {run.Sources.Files.Count} corpus files, {run.Sources.Pairs.Count} pairs, {run.ChunksInFlight} chunks in flight[/]");
            var work = run.RunAsync(teacher.Teacher, loggers, cancellationToken);
            await new ProgressView(stderr, run.Progress, teacher.Engine, !Console.IsErrorRedirected).ShowWhileAsync(work).ConfigureAwait(false);
            var outcome = await work.ConfigureAwait(false);
            foreach (var skipped in run.SkippedFiles()) stderr.MarkupLine("[yellow]skipped[/] " + Markup.Escape(skipped));
            return RunSummary.Print(stderr, outcome, teacher.Engine, run.Progress.Elapsed);
        });
        return command;
    }

    /// <summary>The first chunk's prompts, chunked with the teacher's own tokenizer (only its vocabulary loads).</summary>
    private static async Task PrintPromptsAsync(AugmentOptions options, TeacherOptions teacherOptions, IAnsiConsole stderr, Microsoft.Extensions.Logging.ILoggerFactory loggers,
        CancellationToken cancellationToken)
    {
        LocalTeacher.InitializeNative(teacherOptions, loggers);
        var path = LocalTeacher.ResolveModelPath(teacherOptions, stderr.Notice);
        using var vocab = LlamaModel.Load(path, new LlamaModelLoadOptions { VocabOnly = true, GpuLayers = 0 }, cancellationToken: cancellationToken);
        var prompts = await AugmentRun.FirstPromptsAsync(options, t => vocab.Vocab.Tokenize(t).Length, line => stderr.MarkupLine(Markup.Escape(line)),
            cancellationToken).ConfigureAwait(false);
        foreach (var (title, prompt) in prompts)
        {
            await Console.Out.WriteLineAsync($"===== {title}").ConfigureAwait(false);
            await Console.Out.WriteLineAsync(prompt).ConfigureAwait(false);
        }
    }
}

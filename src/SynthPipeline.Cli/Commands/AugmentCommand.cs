using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.SemanticKernel;
using Spectre.Console;
using SynthPipeline.Cli.Hosting;
using SynthPipeline.Corpus;
using SynthPipeline.Llama;
using SynthPipeline.Llama.Teacher;
using SynthPipeline.Options;
using SynthPipeline.Pipeline.Augment;
using SynthPipeline.Pipeline.Corpus;
using SynthPipeline.Pipeline.Output;
using SynthPipeline.Pipeline.Stages;
using SynthPipeline.Pipeline.State;

namespace SynthPipeline.Cli.Commands;

/// <summary><c>synth augment</c>: documents (and accepted pairs) into grounded, negative and refusal conversations.</summary>
internal static class AugmentCommand
{
    private const string SettingsKey = "augment_settings";

    public static Command Create()
    {
        var folderArgument = new Argument<string?>("folder") { Description = "Folder of .txt, .md, .html and .pdf documents (overrides Augment:Corpus)", Arity = ArgumentArity.ZeroOrOne };
        var pairs = new Option<string?>("--pairs") { Description = "Instruction/answer JSONL (e.g. a generate run's alpaca.jsonl) to build negative and refusal variants from (overrides Augment:Pairs)" };
        var output = new Option<string?>("--out", "-o") { Description = "Folder for run folders (overrides Augment:Output)" };
        var model = new Option<string?>("--model", "-m") { Description = "Teacher GGUF (overrides Teacher:ModelPath; default: the demo model)" };
        var resume = new Option<string?>("--resume") { Description = "Continue a run: its folder, or its name under the output folder" };
        var runName = new Option<string?>("--run-name") { Description = "Name of the new run's folder (default: run-<time>)" };
        var chunkTokens = new Option<int?>("--chunk-tokens") { Description = "Largest chunk in teacher tokens (overrides Augment:ChunkTokens)" };
        var judgeVotes = new Option<int?>("--judge-votes") { Description = "Teacher-judge votes per check, majority decides (overrides Augment:JudgeVotes)" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print the first chunk's question, negative and refusal prompts and exit (loads only the teacher's tokenizer)" };
        var command = new Command("augment", "Turn domain documents into grounded Q/A, false-premise corrections and refusals, mixed into conversations")
        {
            folderArgument, pairs, output, model, resume, runName, chunkTokens, judgeVotes, dryRun,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var configuration = AppConfiguration.Build();
            var teacherOptions = AppConfiguration.Teacher(configuration);
            var options = AppConfiguration.Bind<AugmentOptions>(configuration, AugmentOptions.Section);
            if (parse.GetValue(model) is { } m) teacherOptions.ModelPath = m;
            if (parse.GetValue(folderArgument) is { } f) options.Corpus = f;
            if (parse.GetValue(pairs) is { } p) options.Pairs = p;
            if (parse.GetValue(output) is { } o) options.Output = o;
            if (parse.GetValue(runName) is { } r) options.RunName = r;
            if (parse.GetValue(chunkTokens) is { } ct) options.ChunkTokens = ct;
            if (parse.GetValue(judgeVotes) is { } jv) options.JudgeVotes = jv;
            if (string.IsNullOrWhiteSpace(options.Corpus)) options.Corpus = null;
            if (string.IsNullOrWhiteSpace(options.Pairs)) options.Pairs = null;
            teacherOptions.Validate();
            var stderr = ConsoleExtensions.ForStandardError();
            var prompts = PromptLibrary.Default();

            // Everything that can be checked is checked before anything is created or the model loads.
            var resumeName = parse.GetValue(resume);
            if (resumeName is null) CheckNewRun(options, teacherOptions);
            if (parse.GetValue(dryRun))
            {
                using var dryLoggers = Logging.Create(configuration);
                await PrintPromptsAsync(options, teacherOptions, prompts, stderr, dryLoggers, cancellationToken).ConfigureAwait(false);
                return SynthApp.ExitOk;
            }
            var (folder, isResume) = RunFolders.Resolve(options.Output, options.RunName, resumeName, AugmentOptions.Section);
            using var runLock = RunLock.Acquire(folder);
            using var store = RunStore.Open(folder);
            if (isResume)
                options = JsonSerializer.Deserialize<AugmentOptions>(store.GetMeta(SettingsKey)
                    ?? throw new ArgumentException($"--resume: '{folder}' is not an augment run (no stored augment settings)"))!;
            var sources = new AugmentSources(options.Corpus, options.Corpus is null ? [] : CorpusReader.Files(options.Corpus),
                options.Pairs, options.Pairs is null ? [] : PairsReader.Read(options.Pairs));
            if (!isResume) store.SetMeta(SettingsKey, JsonSerializer.Serialize(options));

            using var loggers = Logging.Create(configuration);
            var path = TeacherFactory.ResolveModelPath(teacherOptions, stderr);
            var demo = string.Equals(Path.GetFullPath(path), Path.GetFullPath(TeacherFactory.DemoModelPath), StringComparison.Ordinal);
            using var llama = TeacherFactory.LoadModel(teacherOptions, path, loggers, cancellationToken);
            using var client = TeacherFactory.CreateClient(llama, teacherOptions, loggers);
            var grammars = options.DemoGrammars.ToUpperInvariant() switch { "ON" => true, "OFF" => false, _ => demo };
            string? Grammar(string template)
            {
                var file = Path.Combine(AppContext.BaseDirectory, "prompts", "demo", template + ".gbnf");
                return grammars && File.Exists(file) ? File.ReadAllText(file) : null;
            }

            var progress = new AugmentProgress(TimeProvider.System);
            var kernel = TeacherKernel.Create(client);
            using var teacher = TeacherFactory.WithResilience(client, options.StallSeconds, options.RequestTimeoutSeconds, options.Retries, loggers);
            var augmentTeacher = new AugmentTeacher(new TeacherRequests(teacher, store, progress.Teacher), prompts, kernel, new AugmentSettings(options, Grammar));
            var ingest = new CorpusIngest(store, new CorpusReader(options.MaxFileMegabytes * 1048576L),
                text => llama.Vocab.Tokenize(text, addSpecial: false, parseSpecial: false).Length, options, folder, progress);
            var chunksInFlight = options.ChunksInFlight > 0 ? options.ChunksInFlight : teacherOptions.ParallelSequences;
            var run = new AugmentRun(ingest, new GroundedQuestionStage(augmentTeacher), new NegativeStage(augmentTeacher), new RefusalStage(augmentTeacher),
                store, progress, loggers.CreateLogger<AugmentRun>(), chunksInFlight);

            stderr.MarkupLineInterpolated($"[grey]{(isResume ? "resuming" : "starting")} run {folder}: {sources.Files.Count} corpus files, {sources.Pairs.Count} pairs, {chunksInFlight} chunks in flight[/]");
            var view = new AugmentProgressView(stderr, progress, client, !Console.IsErrorRedirected);
            var cancelled = false;
            try
            {
                await view.ShowWhileAsync(run.RunAsync(sources, cancellationToken)).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                cancelled = true;
            }

            // Saved state is exported even after Ctrl+C, so the morning's files reflect everything committed.
            var dataset = AugmentExporter.Deduplicate(store.Examples(), options.RougeThreshold);
            var examples = dataset.Kept;
            var systemPrompt = options.SystemPrompt.ToUpperInvariant() switch
            {
                "OFF" => null,
                "AUTO" => examples.Count == 0 ? null : await SystemPromptBuilder.BuildAsync(prompts, kernel, examples, CancellationToken.None).ConfigureAwait(false),
                _ => (await File.ReadAllTextAsync(options.SystemPrompt, CancellationToken.None).ConfigureAwait(false)).Trim(),
            };
            AugmentExporter.Export(store, dataset, folder, new AugmentDescription(Path.GetFileName(folder), options.Corpus, options.Pairs, $"{llama.Description} ({path})", demo,
                Describe(options, chunksInFlight)), options, systemPrompt);
            foreach (var problem in store.Documents().Where(d => d.Status == "problem"))
                stderr.MarkupLine("[yellow]skipped[/] " + Markup.Escape($"({problem.Reason}) {problem.Message}"));
            foreach (var problem in progress.Problems.Where(p => p.Reason is "changed_since_start" or "missing_since_start"))
                stderr.MarkupLine("[yellow]skipped[/] " + Markup.Escape(problem.Message));
            var engine = client.Metrics();
            stderr.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                $"engine: {engine.PromptTokensProcessed} prompt tokens computed, {engine.PromptTokensReused} reused from shared prefixes, {engine.GeneratedTokens} generated, {engine.Decodes} decodes; {progress.Elapsed.TotalSeconds:F1} s, {progress.Pages} pages, {progress.ChunksDone} chunks")));
            var kinds = examples.GroupBy(e => e.Kind).ToDictionary(g => g.Key, g => g.Count());
            stderr.MarkupLine((cancelled ? "[yellow]stopped[/]: state saved; continue with --resume " + Markup.Escape(folder) : "[green]done[/]") +
                Markup.Escape($": {examples.Count} examples ({string.Join(", ", kinds.OrderBy(k => k.Key).Select(k => $"{AugmentExporter.Kind(k.Key)} {k.Value}"))}) in {folder}"));
            return cancelled ? SynthApp.ExitCancelled : SynthApp.ExitOk;
        });
        return command;
    }

    /// <summary>
    /// The prompts the run would send first: the first chunk of the first readable document (or the first pair),
    /// chunked with the teacher's own tokenizer, rendered through the same templates and arguments as the stages.
    /// </summary>
    private static async Task PrintPromptsAsync(AugmentOptions options, TeacherOptions teacherOptions, PromptLibrary prompts, IAnsiConsole stderr,
        ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        TeacherFactory.InitializeNative(teacherOptions, loggers);
        var path = TeacherFactory.ResolveModelPath(teacherOptions, stderr);
        using var vocab = LlamaModel.Load(path, new LlamaModelLoadOptions { VocabOnly = true, GpuLayers = 0 }, cancellationToken: cancellationToken);
        ChunkJob? job = null;
        var reader = new CorpusReader(options.MaxFileMegabytes * 1048576L);
        foreach (var file in options.Corpus is null ? [] : CorpusReader.Files(options.Corpus))
        {
            var (document, problem) = reader.Read(options.Corpus!, file);
            if (problem is not null)
            {
                stderr.MarkupLine("[yellow]skipped[/] " + Markup.Escape($"({problem.Reason}) {problem.Message}"));
                continue;
            }
            var chunks = TextChunker.Chunk(document!.Text, t => vocab.Vocab.Tokenize(t).Length, options.ChunkTokens, options.ChunkOverlapTokens);
            stderr.MarkupLine(Markup.Escape($"{file}: {document.Text.Length} characters, {document.Pages} pages, {chunks.Count} chunks of at most {options.ChunkTokens} tokens; showing chunk 0 ({chunks[0].Tokens} tokens)"));
            job = new ChunkJob(file, 0, chunks[0].Start, chunks[0].End, chunks[0].Text, null);
            break;
        }
        if (job is null && options.Pairs is not null && PairsReader.Read(options.Pairs) is [var pair, ..])
            job = ChunkJob.ForPair(options.Pairs, pair);
        if (job is null) throw new ArgumentException("nothing to show: no readable document in the corpus and no pairs");
        var kernel = Kernel.CreateBuilder().Build();
        var shown = new List<(string Template, KernelArguments Arguments)>
        {
            (NegativeStage.Template, NegativeStage.Arguments(job)), (RefusalStage.Template, RefusalStage.Arguments(job, 0, options).Arguments),
        };
        if (job.Pair is null) shown.Insert(0, (GroundedQuestionStage.Template, GroundedQuestionStage.Arguments(job, options.QuestionsPerChunk)));
        foreach (var (template, arguments) in shown)
        {
            await Console.Out.WriteLineAsync($"===== {template} ({job.Source})").ConfigureAwait(false);
            await Console.Out.WriteLineAsync(await prompts.RenderAsync(kernel, template, arguments, cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
        }
    }

    /// <summary>Tokens of a prompt template's own text around the chunk (the longest template, with room to spare).</summary>
    private const int TemplateTokens = 400;

    private static void CheckNewRun(AugmentOptions options, TeacherOptions teacher)
    {
        options.Validate();
        var needed = options.ChunkTokens + TemplateTokens + Math.Max(options.QuestionMaxTokens, options.VariantMaxTokens);
        if (needed > teacher.ContextPerSequence)
            throw new OptionsValidationError([$"Augment:ChunkTokens ({options.ChunkTokens}) + the longest answer (Augment:QuestionMaxTokens {options.QuestionMaxTokens}, " +
                $"VariantMaxTokens {options.VariantMaxTokens}) + about {TemplateTokens} tokens of instructions need {needed} tokens, more than Teacher:ContextPerSequence " +
                $"({teacher.ContextPerSequence}); lower the chunk size or raise the context"]);
        if (options.Corpus is not null)
        {
            options.Corpus = Path.GetFullPath(options.Corpus);
            if (CorpusReader.Files(options.Corpus).Count == 0 && options.Pairs is null)
                throw new ArgumentException($"the corpus folder '{options.Corpus}' holds no files (hidden ones are skipped); put .txt, .md, .html or .pdf documents in it");
        }
        if (options.Pairs is not null)
        {
            options.Pairs = Path.GetFullPath(options.Pairs);
            _ = PairsReader.Read(options.Pairs);
        }
        if (options.SystemPrompt.ToUpperInvariant() is not ("AUTO" or "OFF"))
        {
            if (!File.Exists(options.SystemPrompt))
                throw new FileNotFoundException($"Augment:SystemPrompt: '{options.SystemPrompt}' is neither auto, off nor an existing file", options.SystemPrompt);
            options.SystemPrompt = Path.GetFullPath(options.SystemPrompt);
        }
    }

    private static Dictionary<string, string> Describe(AugmentOptions a, int chunksInFlight) => new(StringComparer.Ordinal)
    {
        ["Augment:ChunkTokens / ChunkOverlapTokens"] = $"{a.ChunkTokens} / {a.ChunkOverlapTokens}",
        ["Augment:QuestionsPerChunk / NegativesPerChunk / RefusalsPerChunk"] = $"{a.QuestionsPerChunk} / {a.NegativesPerChunk} / {a.RefusalsPerChunk}",
        ["Augment:NegativesPerPair / RefusalsPerPair"] = $"{a.NegativesPerPair} / {a.RefusalsPerPair}",
        ["Augment:JudgeVotes"] = a.JudgeVotes.ToString(CultureInfo.InvariantCulture),
        ["Augment:RougeThreshold"] = a.RougeThreshold.ToString(CultureInfo.InvariantCulture),
        ["Augment:Mix"] = FormattableString.Invariant($"legitimate {a.Mix.Legitimate}, negative {a.Mix.Negative}, refusal {a.Mix.Refusal}; {a.MinTurns}-{a.MaxTurns} exchanges"),
        ["Augment:CorrectionShare"] = a.CorrectionShare.ToString(CultureInfo.InvariantCulture),
        ["Augment:SystemPrompt / SystemPromptShare"] = $"{a.SystemPrompt} / {a.SystemPromptShare.ToString(CultureInfo.InvariantCulture)}",
        ["Augment:VolatileTopics"] = string.Join(", ", a.EffectiveVolatileTopics.Select(t => t.Name)),
        ["Augment:Seed"] = a.Seed.ToString(CultureInfo.InvariantCulture),
        ["chunks in flight"] = chunksInFlight.ToString(CultureInfo.InvariantCulture),
    };
}

using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.SemanticKernel;
using SynthPipeline.Core;
using SynthPipeline.Core.Corpus;
using SynthPipeline.Core.Options;
using SynthPipeline.Pipeline.State;
using SynthPipeline.Pipeline.Teacher;

namespace SynthPipeline.Pipeline.Augment;

/// <summary>
/// <c>synth augment</c> from start to end: the checks a new run needs before anything is created, the run folder
/// (created whole, or resumed) with its stored settings, the stages and their graph (<see cref="AugmentGraph"/>), and
/// the tail: deduplication, system prompt and export, also after Ctrl+C.
/// </summary>
public sealed class AugmentRun : IDisposable
{
    private const string SettingsKey = "augment_settings";

    /// <summary>Tokens of a prompt template's own text around the chunk (the longest template, with room to spare).</summary>
    private const int TemplateTokens = 400;

    private readonly int _parallelSequences;
    private readonly TimeProvider _time;

    private AugmentRun(RunFolder folder, AugmentOptions settings, int parallelSequences, TimeProvider time)
    {
        Folder = folder;
        Settings = settings;
        _parallelSequences = parallelSequences;
        _time = time;
        Progress = new AugmentProgress(time);
        Sources = new AugmentSources(settings.Corpus, settings.Corpus is null ? [] : CorpusReader.Files(settings.Corpus),
            settings.Pairs, settings.Pairs is null ? [] : PairsReader.Read(settings.Pairs));
    }

    public RunFolder Folder { get; }

    /// <summary>The run's settings: as given for a new run, as stored for a resumed one.</summary>
    public AugmentOptions Settings { get; }

    public AugmentSources Sources { get; }

    public AugmentProgress Progress { get; }

    /// <summary>Chunks worked on at once: the setting, or the teacher's parallel sequences.</summary>
    public int ChunksInFlight => Settings.ChunksInFlight > 0 ? Settings.ChunksInFlight : _parallelSequences;

    /// <summary>
    /// Checks what a new run needs before anything is created or the model loads: the settings, that a chunk and its
    /// answer fit the teacher's context, the corpus folder, the pairs file and the system prompt file. Paths become full.
    /// </summary>
    /// <exception cref="UserErrorException">A setting or input is at fault; the message names it.</exception>
    public static void CheckNew(AugmentOptions options, TeacherOptions teacher)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(teacher);
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
                throw new UserErrorException($"the corpus folder '{options.Corpus}' holds no files (hidden ones are skipped); put .txt, .md, .html or .pdf documents in it");
        }
        if (options.Pairs is not null)
        {
            options.Pairs = Path.GetFullPath(options.Pairs);
            _ = PairsReader.Read(options.Pairs);
        }
        if (options.SystemPromptSource == SystemPromptSource.File)
        {
            if (!File.Exists(options.SystemPrompt))
                throw new UserErrorException($"Augment:SystemPrompt: '{options.SystemPrompt}' is neither auto, off nor an existing file");
            options.SystemPrompt = Path.GetFullPath(options.SystemPrompt);
        }
    }

    /// <summary>Creates a new run from options that passed <see cref="CheckNew"/>, or resumes <paramref name="resume"/> with its stored settings.</summary>
    public static AugmentRun Open(AugmentOptions options, TeacherOptions teacher, string? resume, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(teacher);
        if (resume is null)
        {
            var created = RunFolder.Create(options.Output, options.RunName, RunKind.Augment, $"{AugmentOptions.Section}:Output",
                store => store.SetMeta(SettingsKey, JsonSerializer.Serialize(options)), time);
            return Construct(created, options);
        }
        var folder = RunFolder.Resume(options.Output, resume, RunKind.Augment);
        var stored = folder.Store.GetMeta(SettingsKey);
        if (stored is null)
        {
            folder.Dispose();
            throw new UserErrorException($"--resume: '{folder.Path}' is not an augment run (no stored augment settings)");
        }
        return Construct(folder, JsonSerializer.Deserialize<AugmentOptions>(stored)!);

        AugmentRun Construct(RunFolder runFolder, AugmentOptions settings)
        {
            try
            {
                return new AugmentRun(runFolder, settings, teacher.Parallelism(), time);
            }
            catch
            {
                runFolder.Dispose();
                throw;
            }
        }
    }

    /// <summary>
    /// The prompts a run would send first: the first chunk of the first readable document (or the first pair),
    /// chunked with <paramref name="countTokens"/>, rendered through the same templates and arguments as the stages.
    /// Documents skipped on the way, and the chunk shown, are reported through <paramref name="note"/>.
    /// </summary>
    public static async Task<IReadOnlyList<(string Title, string Prompt)>> FirstPromptsAsync(AugmentOptions options, Func<string, int> countTokens,
        Action<string> note, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(note);
        ChunkJob? job = null;
        var reader = new CorpusReader(options.MaxFileMegabytes * 1048576L);
        foreach (var file in options.Corpus is null ? [] : CorpusReader.Files(options.Corpus))
        {
            var (document, problem) = reader.Read(options.Corpus!, file);
            if (problem is not null)
            {
                note($"skipped ({problem.Reason}) {problem.Message}");
                continue;
            }
            var chunks = TextChunker.Chunk(document!.Text, countTokens, options.ChunkTokens, options.ChunkOverlapTokens);
            note($"{file}: {document.Text.Length} characters, {document.Pages} pages, {chunks.Count} chunks of at most {options.ChunkTokens} tokens; showing chunk 0 ({chunks[0].Tokens} tokens)");
            job = new ChunkJob(file, 0, chunks[0].Start, chunks[0].End, chunks[0].Text, null);
            break;
        }
        if (job is null && options.Pairs is not null && PairsReader.Read(options.Pairs) is [var pair, ..])
            job = ChunkJob.ForPair(CorpusIngest.PairsName(options.Pairs), pair);
        if (job is null) throw new UserErrorException("nothing to show: no readable document in the corpus and no pairs");
        var kernel = Kernel.CreateBuilder().Build();
        var prompts = PromptLibrary.Default();
        var shown = new List<(string Template, KernelArguments Arguments)>
        {
            (NegativeStage.Template, NegativeStage.Arguments(job)), (RefusalStage.Template, RefusalStage.Arguments(job, 0, options).Arguments),
        };
        if (job.Pair is null) shown.Insert(0, (GroundedQuestionStage.Template, GroundedQuestionStage.Arguments(job, options.QuestionsPerChunk)));
        var rendered = new List<(string, string)>();
        foreach (var (template, arguments) in shown)
            rendered.Add(($"{template} ({job.Source})", await prompts.RenderAsync(kernel, template, arguments, cancellationToken).ConfigureAwait(false)));
        return rendered;
    }

    /// <summary>
    /// Runs the graph with <paramref name="teacher"/> over every chunk not yet committed, then deduplicates and
    /// exports. Ctrl+C (the token) stops the graph with everything committed kept; the export still runs.
    /// </summary>
    public async Task<RunOutcome> RunAsync(RunTeacher teacher, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(loggers);
        var options = Settings;
        var store = Folder.Store;
        var grammar = PromptLibrary.DemoGrammars(options.DemoGrammars.Resolve(auto: teacher.IsDemo));

        var prompts = PromptLibrary.Default();
        var kernel = TeacherKernel.Create(teacher.Client);
        // Not disposed here: middleware disposes its inner client, and the teacher belongs to the caller.
        var chains = RoleChains.Build(teacher, TeacherResilience.FromSeconds(options.StallSeconds, options.RequestTimeoutSeconds, options.Retries),
            loggers, _time);
        var augmentTeacher = new AugmentTeacher(new TeacherRequests(chains, store, Progress.Teacher), prompts, kernel, new AugmentSettings(options, grammar));
        var ingest = new CorpusIngest(store, new CorpusReader(options.MaxFileMegabytes * 1048576L), teacher.CountTokens, options, Folder.Path, Progress);
        var graph = new AugmentGraph(ingest, new GroundedQuestionStage(augmentTeacher), new NegativeStage(augmentTeacher), new RefusalStage(augmentTeacher),
            store, Progress, loggers.CreateLogger<AugmentGraph>(), ChunksInFlight);

        var cancelled = false;
        try
        {
            await graph.RunAsync(Sources, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            cancelled = true;
        }

        // Saved state is exported even after Ctrl+C, so the morning's files reflect everything committed.
        var dataset = AugmentExporter.Deduplicate(store.Examples(), options.RougeThreshold);
        var examples = dataset.Kept;
        var systemPrompt = options.SystemPromptSource switch
        {
            SystemPromptSource.Off => null,
            SystemPromptSource.Auto => examples.Count == 0 ? null : await SystemPromptBuilder.BuildAsync(prompts, kernel, examples, CancellationToken.None).ConfigureAwait(false),
            _ => (await File.ReadAllTextAsync(options.SystemPrompt, CancellationToken.None).ConfigureAwait(false)).Trim(),
        };
        await AugmentExporter.ExportAsync(store, dataset, Folder.Path, new AugmentDescription(Folder.Name, options.Corpus, options.Pairs, teacher.CardDescription(), teacher.IsDemo,
            Describe()), options, systemPrompt, CancellationToken.None).ConfigureAwait(false);
        var kinds = examples.GroupBy(e => e.Kind).ToDictionary(g => g.Key, g => g.Count());
        return new RunOutcome(Folder.Path, cancelled,
            $"{examples.Count} examples ({string.Join(", ", kinds.OrderBy(k => k.Key).Select(k => $"{AugmentExporter.Kind(k.Key)} {k.Value}"))}); {TeacherUsageReport.Line(store.UsageTotals())}");
    }

    /// <summary>Every file left out of the run and why: problems recorded in the store, and files that changed or vanished since the start.</summary>
    public IReadOnlyList<string> SkippedFiles() =>
    [
        .. Folder.Store.Documents().Where(d => d.Status == DocumentStatus.Problem).Select(d => $"({d.Reason}) {d.Message}"),
        .. Progress.Problems.Where(p => p.Reason is "changed_since_start" or "missing_since_start").Select(p => p.Message),
    ];

    public void Dispose() => Folder.Dispose();

    private Dictionary<string, string> Describe()
    {
        var a = Settings;
        return new(StringComparer.Ordinal)
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
            ["chunks in flight"] = ChunksInFlight.ToString(CultureInfo.InvariantCulture),
        };
    }
}

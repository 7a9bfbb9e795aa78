using System.Globalization;
using SynthPipeline.Core.Augment;
using SynthPipeline.Core.Eval;
using SynthPipeline.Core.Novelty;
using SynthPipeline.Core.Options;
using SynthPipeline.Pipeline.Augment;
using SynthPipeline.Pipeline.Output;
using SynthPipeline.Pipeline.State;

namespace SynthPipeline.Pipeline.Augment;

/// <summary>Accepted examples with near-duplicate questions removed, and the removed ones as rejections.</summary>
public sealed record DeduplicatedExamples(IReadOnlyList<StoredExample> Kept, IReadOnlyList<StoredRejection> NearDuplicates);

/// <summary>What the dataset card says about how an augment run was made.</summary>
public sealed record AugmentDescription(string RunName, string? Corpus, string? Pairs, string Teacher, bool DemoTeacher, IReadOnlyDictionary<string, string> Settings)
{
    /// <summary>The teacher's tokens and cost per stage, role and endpoint.</summary>
    public IReadOnlyList<UsageTotal> Usage { get; init; } = [];
}

/// <summary>
/// Writes an augment run's dataset from the state store: conversations that mix legitimate, negative and refusal
/// exchanges in the configured proportions (OpenAI chat and ShareGPT JSONL, with trainable marks and provenance),
/// every accepted example as an Alpaca pair, review.csv, rejected.jsonl, system-prompt.txt, stats.json and a README.md
/// card. The same state always gives the same files: examples are taken in id order and every choice is seeded.
/// </summary>
public static class AugmentExporter
{
    /// <summary>What the user says after the flawed turn of a correction conversation.</summary>
    public static readonly IReadOnlyList<string> Objections =
        ["Are you sure about that?", "Hmm, I don't think that's right.", "Can you double-check that?", "Wait, is that actually true?", "That doesn't sound right to me."];

    /// <summary>One message of a written conversation; <see cref="Trainable"/> is set on assistant turns only.</summary>
    public sealed record Message(string Role, string Content, bool? Trainable);

    /// <summary>A written conversation with the examples it was built from.</summary>
    public sealed record Conversation(IReadOnlyList<Message> Messages, IReadOnlyList<StoredExample> Examples, bool CorrectionForm);

    /// <summary>
    /// The conversations the store's examples make under <paramref name="options"/>: the first <c>Mixed</c> are the
    /// mixed ones, the rest single exchanges.
    /// </summary>
    public static (IReadOnlyList<Conversation> All, int Mixed) Conversations(IReadOnlyList<StoredExample> examples, AugmentOptions options, string? systemPrompt)
    {
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentNullException.ThrowIfNull(options);
        var pools = Enum.GetValues<ExampleKind>().ToDictionary(k => k, k => examples.Where(e => e.Kind == k).ToList());
        var plan = ConversationMixer.Plan(pools.ToDictionary(p => p.Key, p => p.Value.Count), Mix(options), options.Seed);
        var all = plan.Conversations.Concat(plan.Singles.Select(s => (IReadOnlyList<MixedTurn>)[s]))
            .Select(turns => Write(turns.Select(t => pools[t.Kind][t.Index]).ToList(), options, systemPrompt)).ToList();
        return (all, plan.Conversations.Count);
    }

    public static MixSettings Mix(AugmentOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new(new Dictionary<ExampleKind, double>
        {
            [ExampleKind.Legitimate] = options.Mix.Legitimate, [ExampleKind.Negative] = options.Mix.Negative, [ExampleKind.Refusal] = options.Mix.Refusal,
        }, options.MinTurns, options.MaxTurns, options.SingleTurnLeftovers);
    }

    private static Conversation Write(List<StoredExample> turns, AugmentOptions options, string? systemPrompt)
    {
        var messages = new List<Message>();
        if (systemPrompt is not null && Fraction(options.Seed, turns[0].Id + "|system") < options.SystemPromptShare)
            messages.Add(new Message("system", systemPrompt, null));
        var correctionForm = false;
        foreach (var e in turns)
        {
            messages.Add(new Message("user", e.Question, null));
            if (e.Kind == ExampleKind.Negative && e.FlawedAnswer is { Length: > 0 } flawed && Fraction(options.Seed, e.Id + "|correction") < options.CorrectionShare)
            {
                // The flawed turn is context to learn from, not behaviour to imitate.
                messages.Add(new Message("assistant", flawed, false));
                messages.Add(new Message("user", Objections[AugmentTeacher.SeedOf(options.Seed, e.Id + "|objection") % Objections.Count], null));
                correctionForm = true;
            }
            messages.Add(new Message("assistant", e.Answer, true));
        }
        return new Conversation(messages, turns, correctionForm);
    }

    private static double Fraction(int seed, string key) => AugmentTeacher.SeedOf(seed, key) / (double)int.MaxValue;

    /// <summary>
    /// Drops near-duplicate questions: in id order, an example whose question scores above
    /// <paramref name="threshold"/> (ROUGE-L F, Self-Instruct's measure) against a kept question of the same kind is
    /// returned as a rejection naming the example it repeats. Pairs taken from a pairs file are kept as they are.
    /// Deterministic, so a resumed run writes the same dataset.
    /// </summary>
    public static DeduplicatedExamples Deduplicate(IReadOnlyList<StoredExample> examples, double threshold)
    {
        ArgumentNullException.ThrowIfNull(examples);
        var kept = new List<StoredExample>();
        var dropped = new List<StoredRejection>();
        foreach (var kind in Enum.GetValues<ExampleKind>())
        {
            var index = new NoveltyIndex();
            var keptOfKind = new List<StoredExample>();
            foreach (var e in examples.Where(x => x.Kind == kind))
            {
                // A pair from a pairs file passes as it is: its own run decided about it (several examples of one
                // instruction legitimately share the question).
                var match = index.Count == 0 || e.Checks == GroundedQuestionStage.FromSourceRun ? new NoveltyMatch(-1, 0) : index.FindMostSimilar(e.Question);
                if (threshold < 1 && NoveltyIndex.IsTooSimilar(match, threshold))
                {
                    var twin = keptOfKind[match.Index];
                    dropped.Add(new StoredRejection
                    {
                        Stage = Kind(kind), Reason = "near_duplicate", Detail = $"ROUGE-L {match.Score:F2} with {twin.Id}: {twin.Question}", Text = e.Question,
                        MostSimilar = twin.Question, Score = match.Score, Source = $"{e.File}#{e.Chunk}",
                    });
                    continue;
                }
                index.Add(e.Question);
                keptOfKind.Add(e);
            }
            kept.AddRange(keptOfKind);
        }
        return new DeduplicatedExamples(kept.OrderBy(e => e.Id, StringComparer.Ordinal).ToList(), dropped);
    }

    /// <summary>
    /// Writes every file of the run folder from <paramref name="store"/> (documents, chunks, rejections) and
    /// <paramref name="dataset"/> (the store's examples after <see cref="Deduplicate"/>, computed once by the caller,
    /// which also builds the system prompt from them).
    /// </summary>
    public static async Task ExportAsync(RunStore store, DeduplicatedExamples dataset, string folder, AugmentDescription run, AugmentOptions options, string? systemPrompt,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(options);
        var (deduplicated, nearDuplicates) = dataset;
        // Probes are taken out before anything is written, so no training file can contain one.
        var (heldOut, examples) = ProbeSplit.Split(deduplicated, e => e.Kind, e => e.Id, e => e.Question, options.HoldOut, options.Seed);
        var probesFile = Path.Combine(folder, ProbeFile.FileName);
        var documents = new Dictionary<string, string?>(StringComparer.Ordinal);
        if (heldOut.Count > 0) ProbeFile.Write(probesFile, heldOut.Select(e => new Probe(e.Id, e.Kind, e.Question, e.Answer, SourcePassage(folder, e, documents), $"{e.File}#{e.Chunk}")));
        else File.Delete(probesFile);
        var (conversations, mixedCount) = Conversations(examples, options, systemPrompt);
        object Provenance(StoredExample e) => new { example = e.Id, kind = Kind(e.Kind), file = e.File, chunk = e.Chunk, start = e.SpanStart, end = e.SpanEnd };
        JsonLines.Write(Path.Combine(folder, "openai-chat.jsonl"), conversations.Select(c => new
        {
            messages = c.Messages.Select(m => m.Trainable is { } t ? (object)new { role = m.Role, content = m.Content, trainable = t } : new { role = m.Role, content = m.Content }),
            kinds = c.Examples.Select(e => Kind(e.Kind)),
            provenance = c.Examples.Select(Provenance),
        }));
        JsonLines.Write(Path.Combine(folder, "sharegpt.jsonl"), conversations.Select(c => new
        {
            conversations = c.Messages.Select(m => m.Trainable is { } t
                ? (object)new { from = "gpt", value = m.Content, trainable = t }
                : new { from = m.Role == "system" ? "system" : "human", value = m.Content }),
            kinds = c.Examples.Select(e => Kind(e.Kind)),
            provenance = c.Examples.Select(Provenance),
        }));
        JsonLines.Write(Path.Combine(folder, "alpaca.jsonl"), examples.Select(e => new
        {
            instruction = e.Question, input = "", output = e.Answer, kind = Kind(e.Kind), provenance = Provenance(e),
        }));
        var rejections = store.Rejections().Concat(nearDuplicates).ToList();
        JsonLines.Write(Path.Combine(folder, "rejected.jsonl"), rejections.Select(r => new
        {
            stage = r.Stage, reason = r.Reason, detail = r.Detail, text = r.Text, source = r.Source,
        }));
        CsvFile.Write(Path.Combine(folder, "review.csv"), ["id", "kind", "file", "chunk", "span_start", "span_end", "question", "answer", "flawed_answer", "premise_or_topic", "checks"],
            examples.Select(e => (IReadOnlyList<string>)[e.Id, Kind(e.Kind), e.File, e.Chunk.ToString(CultureInfo.InvariantCulture), e.SpanStart.ToString(CultureInfo.InvariantCulture),
                e.SpanEnd.ToString(CultureInfo.InvariantCulture), e.Question, e.Answer, e.FlawedAnswer ?? "", e.Topic ?? "", e.Checks]));
        var systemFile = Path.Combine(folder, "system-prompt.txt");
        if (systemPrompt is not null) AtomicFile.WriteText(systemFile, systemPrompt + "\n");
        else File.Delete(systemFile);
        var stats = AugmentReport.Stats(store, examples, rejections, conversations, mixedCount, run, options);
        stats["held_out_probes"] = heldOut.Count;
        AtomicFile.WriteText(Path.Combine(folder, "stats.json"), stats.ToJsonString(JsonLines.Indented));
        await ParquetFile.WriteAsync(Path.Combine(folder, "openai-chat.parquet"), conversations.Select(c => new ChatRow
        {
            Messages = [.. c.Messages.Select(m => new MessageRow { Role = m.Role, Content = m.Content, Trainable = m.Trainable })],
        }), cancellationToken).ConfigureAwait(false);
        await ParquetFile.WriteAsync(Path.Combine(folder, "sharegpt.parquet"), conversations.Select(c => new ShareGptRow
        {
            Conversations = [.. c.Messages.Select(m => new TurnRow { From = m.Trainable is not null || m.Role == "assistant" ? "gpt" : m.Role == "system" ? "system" : "human", Value = m.Content, Trainable = m.Trainable })],
        }), cancellationToken).ConfigureAwait(false);
        await ParquetFile.WriteAsync(Path.Combine(folder, "alpaca.parquet"), examples.Select(e => new AlpacaRow { Instruction = e.Question, Output = e.Answer }), cancellationToken)
            .ConfigureAwait(false);
        // Preference pairs: the correction-first answer is chosen over the flawed answer that goes along with the false premise.
        var dpo = examples.Where(e => e.Kind == ExampleKind.Negative && !string.IsNullOrWhiteSpace(e.FlawedAnswer))
            .Select(e => new DpoRow { Prompt = e.Question, Chosen = e.Answer, Rejected = e.FlawedAnswer! }).ToList();
        dpo.AddRange(JudgedBadPairs(examples, rejections));
        JsonLines.Write(Path.Combine(folder, "dpo.jsonl"), dpo.Select(d => new { prompt = d.Prompt, chosen = d.Chosen, rejected = d.Rejected }));
        await ParquetFile.WriteAsync(Path.Combine(folder, "dpo.parquet"), dpo, cancellationToken).ConfigureAwait(false);
        AtomicFile.WriteText(Path.Combine(folder, "report.html"), AugmentReportPage.Render(run with { Usage = store.UsageTotals() }, examples, rejections, conversations, store.Throughput(40)));
        AtomicFile.WriteText(Path.Combine(folder, "README.md"),
            DatasetCardHeader.Yaml(conversations.Count, ["openai-chat.parquet", "alpaca.parquet", "sharegpt.parquet", "dpo.parquet"], ["text-generation", "question-answering"]) +
            AugmentReport.Card(stats, run with { Usage = store.UsageTotals() }, systemPrompt is not null));
    }

    public static string Kind(ExampleKind kind) => kind.ToString().ToLowerInvariant();

    /// <summary>
    /// The passage a grounded or negative example was written from, for the judge of its probe: its span of the cleaned
    /// document the run kept in <c>sources/</c>. Null for refusals (whose topic, not the passage, decides) and for
    /// examples from a pairs file (the pair is the reference itself).
    /// </summary>
    /// <remarks><paramref name="documents"/> holds each document read so far, so a document is read once per export.</remarks>
    private static string? SourcePassage(string folder, StoredExample e, Dictionary<string, string?> documents)
    {
        if (e.Kind == ExampleKind.Refusal) return null;
        if (!documents.TryGetValue(e.File, out var text))
        {
            var path = Path.Combine(folder, CorpusIngest.SourcesFolder, e.File + ".txt");
            documents[e.File] = text = File.Exists(path) ? File.ReadAllText(path) : null;
        }
        if (text is null) return null;
        var start = Math.Clamp(e.SpanStart, 0, text.Length);
        var end = Math.Clamp(e.SpanEnd, start, text.Length);
        return end > start ? text[start..end] : null;
    }

    /// <summary>The rejection reasons that judged an answer bad while its question was fine.</summary>
    private static readonly HashSet<string> BadAnswerReasons = new(StringComparer.Ordinal) { "not_grounded", "does_not_decline", "no_pointer" };

    /// <summary>
    /// Preference pairs from refusals and grounded answers: wherever the judges rejected an answer (not grounded, not
    /// declining, or not pointing to current information) to a question that also has an accepted answer, the accepted
    /// one is chosen over it. Questions match as the probe split compares them (white space and case aside); pairs are ordered by prompt, so a
    /// resumed run writes the same file whatever order its rejections were committed in.
    /// </summary>
    public static IReadOnlyList<DpoRow> JudgedBadPairs(IReadOnlyList<StoredExample> examples, IReadOnlyList<StoredRejection> rejections)
    {
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentNullException.ThrowIfNull(rejections);
        static string Key(string question) => ProbeSplit.Key(question);
        var accepted = examples.Where(e => e.Kind is ExampleKind.Legitimate or ExampleKind.Refusal)
            .GroupBy(e => Key(e.Question), StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var pairs = new List<DpoRow>();
        foreach (var r in rejections.Where(r => BadAnswerReasons.Contains(r.Reason)))
        {
            // JudgedStep records a judged answer as "Q: question | A: answer".
            var split = r.Text.IndexOf(" | A: ", StringComparison.Ordinal);
            if (!r.Text.StartsWith("Q: ", StringComparison.Ordinal) || split < 0) continue;
            var (question, answer) = (r.Text[3..split], r.Text[(split + 6)..]);
            if (accepted.TryGetValue(Key(question), out var good) && !string.Equals(good.Answer.Trim(), answer.Trim(), StringComparison.Ordinal))
                pairs.Add(new DpoRow { Prompt = good.Question, Chosen = good.Answer, Rejected = answer });
        }
        return [.. pairs.DistinctBy(p => (p.Prompt, p.Rejected)).OrderBy(p => p.Prompt, StringComparer.Ordinal).ThenBy(p => p.Rejected, StringComparer.Ordinal)];
    }
}

using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CsvHelper;
using SynthPipeline.Augment;
using SynthPipeline.Novelty;
using SynthPipeline.Options;
using SynthPipeline.Pipeline.Augment;
using SynthPipeline.Pipeline.State;

namespace SynthPipeline.Pipeline.Output;

/// <summary>What the dataset card says about how an augment run was made.</summary>
public sealed record AugmentDescription(string RunName, string? Corpus, string? Pairs, string Teacher, bool DemoTeacher, IReadOnlyDictionary<string, string> Settings);

/// <summary>
/// Writes an augment run's dataset from the state store: conversations that mix legitimate, negative and refusal
/// exchanges in the configured proportions (OpenAI chat and ShareGPT JSONL, with trainable marks and provenance),
/// every accepted example as an Alpaca pair, review.csv, rejected.jsonl, system-prompt.txt, stats.json and a README.md
/// card. The same state always gives the same files: examples are taken in id order and every choice is seeded.
/// </summary>
public static class AugmentExporter
{
    private static readonly JsonSerializerOptions Compact = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly JsonSerializerOptions Indented = new(Compact) { WriteIndented = true };

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
    public static (IReadOnlyList<StoredExample> Kept, IReadOnlyList<StoredRejection> Dropped) Deduplicate(IReadOnlyList<StoredExample> examples, double threshold)
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
                    dropped.Add(new StoredRejection(Kind(kind), "near_duplicate", $"ROUGE-L {match.Score:F2} with {twin.Id}: {twin.Question}", e.Question,
                        twin.Question, match.Score, $"{e.File}#{e.Chunk}"));
                    continue;
                }
                index.Add(e.Question);
                keptOfKind.Add(e);
            }
            kept.AddRange(keptOfKind);
        }
        return (kept.OrderBy(e => e.Id, StringComparer.Ordinal).ToList(), dropped);
    }

    public static void Export(RunStore store, string folder, AugmentDescription run, AugmentOptions options, string? systemPrompt)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(options);
        var (examples, nearDuplicates) = Deduplicate(store.Examples(), options.RougeThreshold);
        var (conversations, mixedCount) = Conversations(examples, options, systemPrompt);
        object Provenance(StoredExample e) => new { example = e.Id, kind = Kind(e.Kind), file = e.File, chunk = e.Chunk, start = e.SpanStart, end = e.SpanEnd };
        WriteLines(Path.Combine(folder, "openai-chat.jsonl"), conversations.Select(c => JsonSerializer.Serialize(new
        {
            messages = c.Messages.Select(m => m.Trainable is { } t ? (object)new { role = m.Role, content = m.Content, trainable = t } : new { role = m.Role, content = m.Content }),
            kinds = c.Examples.Select(e => Kind(e.Kind)),
            provenance = c.Examples.Select(Provenance),
        }, Compact)));
        WriteLines(Path.Combine(folder, "sharegpt.jsonl"), conversations.Select(c => JsonSerializer.Serialize(new
        {
            conversations = c.Messages.Select(m => m.Trainable is { } t
                ? (object)new { from = "gpt", value = m.Content, trainable = t }
                : new { from = m.Role == "system" ? "system" : "human", value = m.Content }),
            kinds = c.Examples.Select(e => Kind(e.Kind)),
            provenance = c.Examples.Select(Provenance),
        }, Compact)));
        WriteLines(Path.Combine(folder, "alpaca.jsonl"), examples.Select(e => JsonSerializer.Serialize(new
        {
            instruction = e.Question, input = "", output = e.Answer, kind = Kind(e.Kind), provenance = Provenance(e),
        }, Compact)));
        var rejections = store.Rejections().Concat(nearDuplicates).ToList();
        WriteLines(Path.Combine(folder, "rejected.jsonl"), rejections.Select(r => JsonSerializer.Serialize(new
        {
            stage = r.Stage, reason = r.Reason, detail = r.Detail, text = r.Text, source = r.Source,
        }, Compact)));
        DatasetExporter.WriteAtomically(Path.Combine(folder, "review.csv"), writer =>
        {
            using var csv = CsvWriter.Create(writer, new CsvWriterOptions(), leaveOpen: true);
            csv.WriteHeader(["id", "kind", "file", "chunk", "span_start", "span_end", "question", "answer", "flawed_answer", "premise_or_topic", "checks"]);
            foreach (var e in examples)
                csv.WriteRecord([e.Id, Kind(e.Kind), e.File, e.Chunk.ToString(CultureInfo.InvariantCulture), e.SpanStart.ToString(CultureInfo.InvariantCulture),
                    e.SpanEnd.ToString(CultureInfo.InvariantCulture), e.Question, e.Answer, e.FlawedAnswer ?? "", e.Topic ?? "", e.Checks]);
            csv.Flush();
        });
        var systemFile = Path.Combine(folder, "system-prompt.txt");
        if (systemPrompt is not null) DatasetExporter.WriteAtomically(systemFile, w => w.Write(systemPrompt + "\n"));
        else File.Delete(systemFile);
        var stats = Stats(store, examples, rejections, conversations, mixedCount, run, options);
        DatasetExporter.WriteAtomically(Path.Combine(folder, "stats.json"), w => w.Write(stats.ToJsonString(Indented)));
        DatasetExporter.WriteAtomically(Path.Combine(folder, "README.md"), w => w.Write(Card(stats, run, systemPrompt is not null)));
    }

    public static string Kind(ExampleKind kind) => kind.ToString().ToLowerInvariant();

    private static JsonObject Stats(RunStore store, IReadOnlyList<StoredExample> examples, IReadOnlyList<StoredRejection> rejections,
        IReadOnlyList<Conversation> conversations, int mixedCount, AugmentDescription run, AugmentOptions options)
    {
        var documents = store.Documents();
        var chunks = store.Chunks();
        var (requests, failed, tokens) = store.RequestTotals();
        var variants = new JsonObject();
        var reasons = new JsonObject();
        foreach (var kind in Enum.GetValues<ExampleKind>())
        {
            var name = Kind(kind);
            var accepted = examples.Count(e => e.Kind == kind);
            var rejected = rejections.Where(r => r.Stage == name).ToList();
            variants[name] = new JsonObject
            {
                ["accepted"] = accepted, ["rejected"] = rejected.Count, ["generated"] = accepted + rejected.Count,
                ["yield"] = accepted + rejected.Count == 0 ? null : Math.Round(accepted / (double)(accepted + rejected.Count), 4),
            };
            var byReason = new JsonObject();
            foreach (var g in rejected.GroupBy(r => r.Reason).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal))
                byReason[g.Key] = g.Count();
            reasons[name] = byReason;
        }
        var perFile = new JsonObject();
        foreach (var d in documents.Where(d => d.Status == "ok"))
        {
            var source = rejections.Where(r => r.Source.StartsWith(d.File + "#", StringComparison.Ordinal)).ToList();
            var entry = new JsonObject
            {
                ["pages"] = d.Pages, ["characters"] = d.Characters, ["chunks"] = d.Chunks,
                ["chunks_done"] = chunks.Count(c => c.File == d.File && c.Status == "done"),
            };
            foreach (var kind in Enum.GetValues<ExampleKind>()) entry[Kind(kind)] = examples.Count(e => e.File == d.File && e.Kind == kind);
            entry["rejected"] = source.Count;
            perFile[d.File] = entry;
        }
        var refusals = examples.Where(e => e.Kind == ExampleKind.Refusal).Select(e => ResponseChecks.Opening(e.Answer)).ToList();
        var openings = refusals.GroupBy(o => o).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).ToList();
        var turnsByKind = new JsonObject();
        foreach (var kind in Enum.GetValues<ExampleKind>())
            turnsByKind[Kind(kind)] = conversations.Take(mixedCount).Sum(c => c.Examples.Count(e => e.Kind == kind));
        var lengths = new JsonObject();
        foreach (var g in conversations.GroupBy(c => c.Examples.Count).OrderBy(g => g.Key))
            lengths[g.Key.ToString(CultureInfo.InvariantCulture)] = g.Count();
        return new JsonObject
        {
            ["run"] = run.RunName,
            ["teacher"] = run.Teacher,
            ["corpus"] = run.Corpus,
            ["pairs"] = run.Pairs,
            ["documents_read"] = documents.Count(d => d.Status == "ok"),
            ["documents_with_problems"] = documents.Count(d => d.Status == "problem"),
            ["pages"] = documents.Sum(d => d.Pages),
            ["chunks"] = chunks.Count,
            ["chunks_done"] = chunks.Count(c => c.Status == "done"),
            ["teacher_requests"] = requests,
            ["teacher_requests_failed"] = failed,
            ["generated_tokens"] = tokens,
            ["examples"] = examples.Count,
            ["variants"] = variants,
            ["rejections"] = rejections.Count,
            ["rejections_by_reason"] = reasons,
            ["per_file"] = perFile,
            ["problems"] = new JsonArray(documents.Where(d => d.Status == "problem")
                .Select(d => (JsonNode)new JsonObject { ["file"] = d.File, ["reason"] = d.Reason, ["message"] = d.Message }).ToArray()),
            ["refusal_openings"] = new JsonObject
            {
                ["refusals"] = refusals.Count, ["distinct"] = openings.Count,
                ["most_common"] = new JsonArray(openings.Take(5).Select(g => (JsonNode)new JsonObject { ["opening"] = g.Key, ["count"] = g.Count() }).ToArray()),
            },
            ["conversations"] = new JsonObject
            {
                ["total"] = conversations.Count,
                ["mixed"] = mixedCount,
                ["single_turn"] = conversations.Count - mixedCount,
                ["exchanges_by_length"] = lengths,
                ["mixed_turns_by_kind"] = turnsByKind,
                ["configured_mix"] = new JsonObject { ["legitimate"] = options.Mix.Legitimate, ["negative"] = options.Mix.Negative, ["refusal"] = options.Mix.Refusal },
                ["with_system_prompt"] = conversations.Count(c => c.Messages[0].Role == "system"),
                ["correction_form"] = conversations.Count(c => c.CorrectionForm),
                ["untrained_assistant_turns"] = conversations.Sum(c => c.Messages.Count(m => m.Trainable == false)),
            },
        };
    }

    private static string Card(JsonObject stats, AugmentDescription run, bool systemPrompt)
    {
        var s = new StringBuilder();
        s.Append("# Dataset: ").AppendLine(run.RunName).AppendLine();
        s.AppendLine("Made by SynthPipeline's `synth augment`: grounded questions from documents (each answer checked against its source by a majority of teacher judges), " +
                     "false-premise questions answered with a correction first, and refusals of questions about constantly changing facts, mixed into conversations.");
        if (run.DemoTeacher)
            s.AppendLine().AppendLine("**The teacher was the built-in demo model (random weights): this text is noise, useful only to try the tool.**");
        s.AppendLine().AppendLine("## Counts").AppendLine().AppendLine("| what | count |").AppendLine("|---|---|");
        foreach (var key in new[] { "documents_read", "documents_with_problems", "pages", "chunks", "chunks_done", "teacher_requests", "teacher_requests_failed", "generated_tokens", "examples", "rejections" })
            s.Append("| ").Append(key.Replace('_', ' ')).Append(" | ").Append(stats[key]?.ToJsonString()).AppendLine(" |");
        s.AppendLine().AppendLine("## Variants").AppendLine().AppendLine("| kind | generated | accepted | yield |").AppendLine("|---|---|---|---|");
        foreach (var (kind, v) in stats["variants"]!.AsObject())
            s.Append("| ").Append(kind).Append(" | ").Append(v!["generated"]!.ToJsonString()).Append(" | ").Append(v["accepted"]!.ToJsonString()).Append(" | ")
                .Append(v["yield"] is { } y ? y.GetValue<double>().ToString("P1", CultureInfo.InvariantCulture) : "-").AppendLine(" |");
        s.AppendLine().AppendLine("## Rejections").AppendLine().AppendLine("| kind | reason | count |").AppendLine("|---|---|---|");
        foreach (var (kind, reasons) in stats["rejections_by_reason"]!.AsObject())
            foreach (var (reason, count) in reasons!.AsObject())
                s.Append("| ").Append(kind).Append(" | ").Append(reason).Append(" | ").Append(count!.ToJsonString()).AppendLine(" |");
        s.AppendLine().AppendLine("## Per source file").AppendLine().AppendLine("| file | pages | chunks | legitimate | negative | refusal | rejected |").AppendLine("|---|---|---|---|---|---|---|");
        foreach (var (file, f) in stats["per_file"]!.AsObject())
            s.Append("| ").Append(file).Append(" | ").Append(f!["pages"]).Append(" | ").Append(f["chunks"]).Append(" | ").Append(f["legitimate"]).Append(" | ")
                .Append(f["negative"]).Append(" | ").Append(f["refusal"]).Append(" | ").Append(f["rejected"]).AppendLine(" |");
        var problems = stats["problems"]!.AsArray();
        if (problems.Count > 0)
        {
            s.AppendLine().AppendLine("## Files not used").AppendLine();
            foreach (var p in problems) s.Append("- ").Append(p!["reason"]).Append(": ").AppendLine(p["message"]!.GetValue<string>());
        }
        var openings = stats["refusal_openings"]!;
        s.AppendLine().AppendLine("## Refusal wording").AppendLine();
        s.Append("- ").Append(openings["distinct"]).Append(" distinct openings (first four words) among ").Append(openings["refusals"]).AppendLine(" refusals");
        foreach (var o in openings["most_common"]!.AsArray()) s.Append("  - \"").Append(o!["opening"]!.GetValue<string>()).Append("…\": ").Append(o["count"]).AppendLine();
        var c = stats["conversations"]!;
        s.AppendLine().AppendLine("## Conversations").AppendLine();
        s.Append("- ").Append(c["total"]).Append(" conversations: ").Append(c["mixed"]).Append(" mixed, ").Append(c["single_turn"]).AppendLine(" single-exchange");
        s.Append("- configured mix (legitimate / negative / refusal): ").AppendLine(c["configured_mix"]!.ToJsonString());
        s.Append("- turns by kind in mixed conversations: ").AppendLine(c["mixed_turns_by_kind"]!.ToJsonString());
        s.Append("- correction conversations (flawed assistant turn marked `\"trainable\": false`): ").Append(c["correction_form"]).AppendLine();
        s.Append("- with the system prompt: ").Append(c["with_system_prompt"]).AppendLine(systemPrompt ? " (the prompt is in `system-prompt.txt`, for use at inference)" : "");
        s.AppendLine().AppendLine("## Settings").AppendLine();
        s.Append("- Teacher: ").AppendLine(run.Teacher);
        foreach (var (k, v) in run.Settings.OrderBy(p => p.Key, StringComparer.Ordinal)) s.Append("- `").Append(k).Append("`: ").AppendLine(v);
        s.AppendLine().AppendLine("## Files").AppendLine();
        s.AppendLine("- `openai-chat.jsonl`, `sharegpt.jsonl`: the conversations; assistant turns carry `trainable`, and each record lists its examples' kinds and provenance (file, chunk, character span in `sources/<file>.txt`).");
        s.AppendLine("- `alpaca.jsonl`: every accepted example as one instruction/output pair, with its kind and provenance.");
        s.AppendLine("- `review.csv`: every accepted example with its provenance, the flawed answer or premise, and the judges' tally.");
        s.AppendLine("- `rejected.jsonl`: everything dropped, with the kind, the reason, the judges' tally and the source chunk.");
        s.AppendLine("- `system-prompt.txt`: the system prompt (when enabled); `stats.json`: these counts; `state.db`: the run state, used by `--resume`.");
        return s.ToString();
    }

    private static void WriteLines(string path, IEnumerable<string> lines) => DatasetExporter.WriteAtomically(path, w =>
    {
        foreach (var line in lines)
        {
            w.Write(line);
            w.Write('\n');
        }
    });
}

using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using SynthPipeline.Core.Augment;
using SynthPipeline.Core.Options;
using SynthPipeline.Pipeline.State;
using SynthPipeline.Pipeline.Teacher;

namespace SynthPipeline.Pipeline.Augment;

/// <summary>
/// An augment run's report: stats.json (per-kind generated, accepted and yield; rejections per reason; per source
/// file; files not used; distinct refusal openings; conversation structure) and the README.md dataset card made from it.
/// </summary>
internal static class AugmentReport
{
    public static JsonObject Stats(RunStore store, IReadOnlyList<StoredExample> examples, IReadOnlyList<StoredRejection> rejections,
        IReadOnlyList<AugmentExporter.Conversation> conversations, int mixedCount, AugmentDescription run, AugmentOptions options)
    {
        var documents = store.Documents();
        var chunks = store.Chunks();
        var (requests, failed, tokens) = store.RequestTotals();
        var variants = new JsonObject();
        var reasons = new JsonObject();
        foreach (var kind in Enum.GetValues<ExampleKind>())
        {
            var name = AugmentExporter.Kind(kind);
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
        // One pass over each table, not one per document: a corpus may have thousands of files.
        var doneByFile = chunks.Where(c => c.Status == ChunkStatus.Done).CountBy(c => c.File).ToDictionary(StringComparer.Ordinal);
        var examplesByFile = examples.CountBy(e => (e.File, e.Kind)).ToDictionary();
        // A rejection's source is "file#chunk"; the file is everything before the last '#'.
        var rejectedByFile = rejections.CountBy(r => r.Source[..Math.Max(0, r.Source.LastIndexOf('#'))]).ToDictionary(StringComparer.Ordinal);
        var perFile = new JsonObject();
        foreach (var d in documents.Where(d => d.Status == DocumentStatus.Ok))
        {
            var entry = new JsonObject
            {
                ["pages"] = d.Pages, ["characters"] = d.Characters, ["chunks"] = d.Chunks, ["chunks_done"] = doneByFile.GetValueOrDefault(d.File),
            };
            foreach (var kind in Enum.GetValues<ExampleKind>()) entry[AugmentExporter.Kind(kind)] = examplesByFile.GetValueOrDefault((d.File, kind));
            entry["rejected"] = rejectedByFile.GetValueOrDefault(d.File);
            perFile[d.File] = entry;
        }
        var refusals = examples.Where(e => e.Kind == ExampleKind.Refusal).Select(e => ResponseChecks.Opening(e.Answer)).ToList();
        var openings = refusals.GroupBy(o => o).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).ToList();
        var turnsByKind = new JsonObject();
        foreach (var kind in Enum.GetValues<ExampleKind>())
            turnsByKind[AugmentExporter.Kind(kind)] = conversations.Take(mixedCount).Sum(c => c.Examples.Count(e => e.Kind == kind));
        var lengths = new JsonObject();
        foreach (var g in conversations.GroupBy(c => c.Examples.Count).OrderBy(g => g.Key))
            lengths[g.Key.ToString(CultureInfo.InvariantCulture)] = g.Count();
        return new JsonObject
        {
            ["teacher_usage"] = TeacherUsageReport.Json(store.UsageTotals()),
            ["run"] = run.RunName,
            ["teacher"] = run.Teacher,
            ["corpus"] = run.Corpus,
            ["pairs"] = run.Pairs,
            ["documents_read"] = documents.Count(d => d.Status == DocumentStatus.Ok),
            ["documents_with_problems"] = documents.Count(d => d.Status == DocumentStatus.Problem),
            ["pages"] = documents.Sum(d => d.Pages),
            ["chunks"] = chunks.Count,
            ["chunks_done"] = chunks.Count(c => c.Status == ChunkStatus.Done),
            ["teacher_requests"] = requests,
            ["teacher_requests_failed"] = failed,
            ["generated_tokens"] = tokens,
            ["examples"] = examples.Count,
            ["variants"] = variants,
            ["rejections"] = rejections.Count,
            ["rejections_by_reason"] = reasons,
            ["per_file"] = perFile,
            ["problems"] = new JsonArray(documents.Where(d => d.Status == DocumentStatus.Problem)
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

    public static string Card(JsonObject stats, AugmentDescription run, bool systemPrompt)
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
        s.AppendLine().AppendLine("## Teacher usage").AppendLine().Append(TeacherUsageReport.Markdown(run.Usage));
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
}

using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using SynthPipeline.Pipeline.Output;
using SynthPipeline.Pipeline.State;
using SynthPipeline.Pipeline.Teacher;

namespace SynthPipeline.Pipeline.SelfInstruct;

/// <summary>What the dataset card says about how the run was made.</summary>
public sealed record RunDescription(string RunName, string SeedFile, int SeedCount, string Teacher, bool DemoTeacher, IReadOnlyDictionary<string, string> Settings)
{
    /// <summary>The teacher's tokens and cost per stage, role and endpoint.</summary>
    public IReadOnlyList<UsageTotal> Usage { get; init; } = [];

    /// <summary>Seed of the training files' shuffled order (Generate:Seed).</summary>
    public int ShuffleSeed { get; init; }

    /// <summary>The seed tasks' own examples, put into the training files too (Generate:IncludeSeedTasks); empty when off.</summary>
    public IReadOnlyList<SeedTask> SeedTasks { get; init; } = [];
}

/// <summary>
/// Writes a run's training files (Alpaca JSON array and JSONL, ShareGPT, OpenAI chat JSONL; in a seeded shuffled
/// order, with the seed tasks' examples when asked), the reference's machine_generated_instructions.jsonl (each
/// instruction with its 10 most similar and its mean similarity), review files (CSV, rejected.jsonl), stats.json and a
/// README.md dataset card from the state store. Each file is written to a temporary name and renamed, so a
/// reader never sees half a file.
/// </summary>
public static class SelfInstructExporter
{
    /// <summary>A training example: one accepted instruction with one of its instances.</summary>
    public sealed record Example(int InstructionId, string Instruction, string Input, string Output, bool? IsClassification, string? MostSimilar, double Score);

    public static IReadOnlyList<Example> Examples(RunStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        var instructions = store.Instructions().Where(i => i.Status == InstructionStatus.Done).ToDictionary(i => i.Id);
        return store.Instances()
            .Where(x => instructions.ContainsKey(x.InstructionId))
            .Select(x =>
            {
                var i = instructions[x.InstructionId];
                return new Example(i.Id, i.Text, x.Input, x.Output, i.IsClassification, i.MostSimilar, i.Score);
            }).ToList();
    }

    public static async Task ExportAsync(RunStore store, string folder, RunDescription run, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(run);
        var examples = Examples(store);
        var training = Shuffled([.. run.SeedTasks.SelectMany(t => t.Instances.Select(x => new Example(-1, t.Instruction, x.Input, x.Output, t.IsClassification, null, 0))),
            .. examples], run.ShuffleSeed);
        AtomicFile.WriteText(Path.Combine(folder, "alpaca_data.json"), System.Text.Json.JsonSerializer.Serialize(
            training.Select(e => new { instruction = e.Instruction, input = e.Input, output = e.Output }), JsonLines.Indented));
        WriteInstructions(store, folder);
        JsonLines.Write(Path.Combine(folder, "alpaca.jsonl"), training.Select(e => new { instruction = e.Instruction, input = e.Input, output = e.Output }));
        JsonLines.Write(Path.Combine(folder, "sharegpt.jsonl"), training.Select(e =>
            new { conversations = new[] { new { from = "human", value = UserTurn(e) }, new { from = "gpt", value = e.Output } } }));
        JsonLines.Write(Path.Combine(folder, "openai-chat.jsonl"), training.Select(e =>
            new { messages = new[] { new { role = "user", content = UserTurn(e) }, new { role = "assistant", content = e.Output } } }));
        var rejections = store.Rejections();
        JsonLines.Write(Path.Combine(folder, "rejected.jsonl"), rejections.Select(r => new
        {
            stage = r.Stage, reason = r.Reason, detail = r.Detail, text = r.Text, most_similar = r.MostSimilar, score = r.Score, source = r.Source,
        }));
        CsvFile.Write(Path.Combine(folder, "review.csv"), ["instruction_id", "instruction", "input", "output", "is_classification", "most_similar", "rouge_l"],
            examples.Select(e => (IReadOnlyList<string>)[e.InstructionId.ToString(CultureInfo.InvariantCulture), e.Instruction, e.Input, e.Output,
                e.IsClassification?.ToString() ?? "", e.MostSimilar ?? "", e.Score.ToString("F4", CultureInfo.InvariantCulture)]));
        var stats = Stats(store, examples, run);
        AtomicFile.WriteText(Path.Combine(folder, "stats.json"), stats.ToJsonString(JsonLines.Indented));
        await ParquetFile.WriteAsync(Path.Combine(folder, "alpaca.parquet"), training.Select(e => new AlpacaRow { Instruction = e.Instruction, Input = e.Input, Output = e.Output }),
            cancellationToken).ConfigureAwait(false);
        await ParquetFile.WriteAsync(Path.Combine(folder, "openai-chat.parquet"), training.Select(e => new ChatRow
        {
            Messages = [new MessageRow { Role = "user", Content = UserTurn(e) }, new MessageRow { Role = "assistant", Content = e.Output }],
        }), cancellationToken).ConfigureAwait(false);
        await ParquetFile.WriteAsync(Path.Combine(folder, "sharegpt.parquet"), training.Select(e => new ShareGptRow
        {
            Conversations = [new TurnRow { From = "human", Value = UserTurn(e) }, new TurnRow { From = "gpt", Value = e.Output }],
        }), cancellationToken).ConfigureAwait(false);
        AtomicFile.WriteText(Path.Combine(folder, "report.html"), SelfInstructReportPage.Render(store, run with { Usage = store.UsageTotals() }, examples));
        AtomicFile.WriteText(Path.Combine(folder, "README.md"),
            DatasetCardHeader.Yaml(training.Count, ["openai-chat.parquet", "alpaca.parquet", "sharegpt.parquet"], ["text-generation", "question-answering"]) +
            Card(stats, run with { Usage = store.UsageTotals() }));
    }

    /// <summary>A Fisher-Yates shuffle from <paramref name="seed"/>: the same run gives the same order, resumed or not.</summary>
    private static List<Example> Shuffled(List<Example> examples, int seed)
    {
        var random = new Random(seed);
        for (var i = examples.Count - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (examples[i], examples[j]) = (examples[j], examples[i]);
        }
        return examples;
    }

    private static void WriteInstructions(RunStore store, string folder)
    {
        var profiles = store.SimilarityProfiles();
        var instances = store.Instances().ToLookup(x => x.InstructionId);
        JsonLines.Write(Path.Combine(folder, "machine_generated_instructions.jsonl"), store.Instructions().Where(i => i.Status == InstructionStatus.Done).Select(i =>
        {
            var similar = new JsonObject();
            if (profiles.TryGetValue(i.Id, out var p))
                foreach (var item in JsonNode.Parse(p.MostSimilarJson)!.AsArray()) similar[item!["text"]!.GetValue<string>()] = item["score"]!.GetValue<double>();
            return new JsonObject
            {
                ["instruction"] = i.Text,
                ["most_similar_instructions"] = similar,
                ["avg_similarity_score"] = profiles.TryGetValue(i.Id, out var q) ? q.Average : null,
                ["is_classification"] = i.IsClassification,
                ["instances"] = new JsonArray([.. instances[i.Id].Select(x => (JsonNode)new JsonObject { ["input"] = x.Input, ["output"] = x.Output })]),
            };
        }));
    }

    private static string UserTurn(Example e) => e.Input.Length == 0 ? e.Instruction : e.Instruction + "\n\n" + e.Input;

    private static JsonObject Stats(RunStore store, IReadOnlyList<Example> examples, RunDescription run)
    {
        var instructions = store.Instructions();
        var rejections = store.Rejections();
        var (requests, failed, tokens) = store.RequestTotals();
        var byStage = new JsonObject();
        foreach (var stage in rejections.GroupBy(r => r.Stage).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var reasons = new JsonObject();
            foreach (var reason in stage.GroupBy(r => r.Reason).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal))
                reasons[reason.Key] = reason.Count();
            byStage[stage.Key] = reasons;
        }
        return new JsonObject
        {
            ["run"] = run.RunName,
            ["teacher"] = run.Teacher,
            ["seed_tasks"] = run.SeedCount,
            ["teacher_requests"] = requests,
            ["teacher_requests_failed"] = failed,
            ["generated_tokens"] = tokens,
            ["prompts_processed"] = store.ProcessedPrompts().Count,
            ["instructions_accepted"] = instructions.Count,
            ["instructions_with_instances"] = instructions.Count(i => i.Status == InstructionStatus.Done),
            ["instructions_classification"] = instructions.Count(i => i.IsClassification == true),
            ["instructions_pending"] = instructions.Count(i => i.Status == InstructionStatus.Pending),
            ["examples"] = examples.Count,
            ["rejections"] = rejections.Count,
            ["rejections_by_stage"] = byStage,
            ["teacher_usage"] = TeacherUsageReport.Json(store.UsageTotals()),
        };
    }

    private static string Card(JsonObject stats, RunDescription run)
    {
        var s = new StringBuilder();
        s.Append("# Dataset: ").AppendLine(run.RunName).AppendLine();
        s.AppendLine("Made by SynthPipeline's `synth generate` (Self-Instruct: seed tasks grown by a local teacher, filtered, deduplicated by ROUGE-L).");
        if (run.DemoTeacher)
            s.AppendLine().AppendLine("**The teacher was the built-in demo model (random weights): this text is noise, useful only to try the tool.**");
        s.AppendLine().AppendLine("## Counts").AppendLine().AppendLine("| stage | count |").AppendLine("|---|---|");
        foreach (var key in new[] { "seed_tasks", "teacher_requests", "teacher_requests_failed", "generated_tokens", "prompts_processed", "instructions_accepted",
                     "instructions_classification", "instructions_with_instances", "instructions_pending", "examples", "rejections" })
            s.Append("| ").Append(key.Replace('_', ' ')).Append(" | ").Append(stats[key]?.ToJsonString()).AppendLine(" |");
        s.AppendLine().AppendLine("## Rejections").AppendLine().AppendLine("| stage | reason | count |").AppendLine("|---|---|---|");
        foreach (var (stage, reasons) in stats["rejections_by_stage"]!.AsObject())
            foreach (var (reason, count) in reasons!.AsObject())
                s.Append("| ").Append(stage).Append(" | ").Append(reason).Append(" | ").Append(count!.ToJsonString()).AppendLine(" |");
        s.AppendLine().AppendLine("## Teacher usage").AppendLine().Append(TeacherUsageReport.Markdown(run.Usage));
        s.AppendLine().AppendLine("## Seeds and teacher").AppendLine();
        s.Append("- Seeds: `").Append(run.SeedFile).Append("` (").Append(run.SeedCount).AppendLine(" tasks)");
        s.Append("- Teacher: ").AppendLine(run.Teacher);
        s.AppendLine().AppendLine("## Settings").AppendLine();
        foreach (var (k, v) in run.Settings.OrderBy(p => p.Key, StringComparer.Ordinal)) s.Append("- `").Append(k).Append("`: ").AppendLine(v);
        s.AppendLine().AppendLine("## Files").AppendLine();
        s.AppendLine("- `alpaca_data.json` (the JSON array Alpaca's training script reads), `alpaca.jsonl`, `sharegpt.jsonl`, `openai-chat.jsonl`: the training examples, in a shuffled order fixed by `Generate:Seed`" +
            (run.SeedTasks.Count > 0 ? $", with the {run.SeedTasks.Sum(t => t.Instances.Count)} examples of the seed tasks (`Generate:IncludeSeedTasks`)." : "."));
        s.AppendLine("- `*.parquet`: the same training files as Parquet, the configs of this card's header (`load_dataset(\"path/to/run\", \"openai_chat\")`).");
        s.AppendLine("- `machine_generated_instructions.jsonl`: each instruction with its instances, its 10 most similar earlier instructions and its mean ROUGE-L similarity, as the Self-Instruct reference records them.");
        s.AppendLine("- `review.csv`: every example with its most similar earlier instruction and ROUGE-L score.");
        s.AppendLine("- `rejected.jsonl`: everything dropped, with the stage, the reason and (for novelty) the closest instruction.");
        s.AppendLine("- `stats.json`: these counts; `state.db`: the full run state (SQLite), used by `--resume`.");
        return s.ToString();
    }
}

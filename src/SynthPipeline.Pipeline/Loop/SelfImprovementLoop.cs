using System.Globalization;
using System.Text;
using System.Xml.Linq;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using SynthPipeline.Core.Augment;
using SynthPipeline.Core.Eval;
using SynthPipeline.Core.Text;
using SynthPipeline.Pipeline.Augment;
using SynthPipeline.Pipeline.Eval;
using SynthPipeline.Pipeline.Output;
using SynthPipeline.Pipeline.Report;
using SynthPipeline.Pipeline.State;
using SynthPipeline.Pipeline.Teacher;
using SynthPipeline.Training;

namespace SynthPipeline.Pipeline.Loop;

/// <summary>What one round of <see cref="SelfImprovementLoop"/> did: answers sampled and kept, and where its adapter is.</summary>
public sealed record LoopRound(int Round, int Sampled, int Kept, string? Adapter);

/// <summary>
/// <c>synth loop</c> (ReST-EM): in round k the current student (the base with round k−1's adapter; round 1 starts
/// from the run's adapter, or the base) answers the run's training prompts K times each at a sampling temperature;
/// the judge keeps the answers that pass the checks the pipeline uses for their kind (correct and not a refusal;
/// corrects the premise first, by judge and rule; declines and points to current information); a fresh adapter is
/// trained from the base on the survivors; and the base and every round's adapter are evaluated on the held-out
/// probes. Each round also writes <c>dpo.jsonl</c>: for prompts with both kept and rejected answers, the kept one is
/// chosen over the rejected one, for <c>synth train --method dpo</c>. Answers, verdicts and evaluations are cached in <c>loop/state.db</c>, and each round trains in its own
/// folder from its checkpoint, so a killed loop resumes where it stopped.
/// </summary>
public sealed class SelfImprovementLoop(RunLayout run, EvalInputs inputs, TrainerOptions trainer, ILoggerFactory loggers, Action<string> log)
{
    public async Task<(IReadOnlyList<LoopRound> Rounds, IReadOnlyList<StudentMetrics> Metrics)?> RunAsync(string folder, int rounds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var options = inputs.Options;
        var examples = TrainingExample.Read(run.Examples);
        var prompts = options.MaxPrompts > 0 ? [.. examples.OrderBy(e => ProbeSplit.Draw(options.Seed, e.Id)).Take(options.MaxPrompts)] : examples;
        Directory.CreateDirectory(folder);
        var done = new List<LoopRound>();
        var targets = new List<EvalTarget> { new("base", null) };
        var adapter = run.Adapter;
        IReadOnlyList<StudentMetrics> metrics = [];
        for (var k = 1; k <= rounds; k++)
        {
            var roundFolder = Path.Combine(folder, $"round-{k}");
            Directory.CreateDirectory(roundFolder);
            var (sampled, kept) = await SampleAndFilterAsync(folder, k, adapter, prompts, cancellationToken).ConfigureAwait(false);
            log(string.Create(CultureInfo.InvariantCulture, $"loop round {k}: {kept.Count} of {sampled} sampled answers passed the judge"));
            if (kept.Count == 0)
            {
                // Nothing to learn from: the next round samples from the same student again.
                done.Add(new LoopRound(k, sampled, 0, null));
                continue;
            }
            var data = Path.Combine(roundFolder, "data.jsonl");
            TrainingExample.WriteChat(data, kept);
            var trained = await AdapterTraining.TrainAsync(data, inputs.BaseModel, roundFolder, trainer, log, cancellationToken).ConfigureAwait(false);
            if (trained is null) return null;
            adapter = trained;
            done.Add(new LoopRound(k, sampled, kept.Count, trained));
            targets.Add(new EvalTarget($"round {k}", trained));
            metrics = await EvaluationRun.RunAsync(Path.Combine(folder, "eval"), inputs, targets, loggers, log, cancellationToken).ConfigureAwait(false);
        }
        // No round trained an adapter: the table still shows the base, so the morning has a measured starting point.
        if (metrics.Count == 0) metrics = await EvaluationRun.RunAsync(Path.Combine(folder, "eval"), inputs, targets, loggers, log, cancellationToken).ConfigureAwait(false);
        Write(folder, done, metrics);
        return (done, metrics);
    }

    /// <summary>K answers per prompt from the current student, each graded; the passing ones (distinct per prompt) are kept.</summary>
    private async Task<(int Sampled, List<TrainingExample> Kept)> SampleAndFilterAsync(string folder, int round, string? adapter, IReadOnlyList<TrainingExample> prompts,
        CancellationToken cancellationToken)
    {
        var options = inputs.Options;
        using var store = RunStore.Open(folder);
        var counters = new TeacherCounters(TimeProvider.System);
        var grader = inputs.Grader(store, counters, loggers, TimeProvider.System);
        var model = inputs.BaseWeights(loggers, cancellationToken, out var owned);
        using var _ = owned;
        using var student = LocalTeacher.CreateClient(model, inputs.TeacherOptions, loggers, adapter is null ? null : [(adapter, 1f)]);
        var answers = new TeacherRequests(student, store, counters);
        var work = prompts.SelectMany(p => Enumerable.Range(0, options.Samples).Select(s => (Prompt: p, Sample: s))).ToList();
        var passed = new TrainingExample?[work.Count];
        var failed = new TrainingExample?[work.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, work.Count), new ParallelOptions { MaxDegreeOfParallelism = options.Parallel, CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                var (prompt, sample) = work[i];
                // The settings that shape an answer are in its id, so a loop resumed with other settings asks again.
                var id = FormattableString.Invariant($"loop|round{round}|seed{options.Seed}|t{options.SampleTemperature}|max{options.MaxAnswerTokens}|{prompt.Id}|{sample}");
                var reply = await answers.AskAsync(id, "loop-answer", [new ChatMessage(ChatRole.User, prompt.Question)], new ChatOptions
                {
                    Temperature = (float)options.SampleTemperature, Seed = AugmentTeacher.SeedOf(options.Seed, id), MaxOutputTokens = options.MaxAnswerTokens,
                }, ct).ConfigureAwait(false);
                if (!reply.Succeeded || string.IsNullOrWhiteSpace(reply.Text)) return;
                var text = ChatText.Unmark(reply.Text).Trim();
                var score = await grader.GradeAsync(new Probe(prompt.Id, prompt.Kind, prompt.Question, prompt.Answer, null, run.Examples), text, ct).ConfigureAwait(false);
                var answer = prompt with { Id = $"{prompt.Id}#r{round}s{sample}", Answer = text };
                if (EvalCriteria.Passes(score)) passed[i] = answer;
                else if (score.Scored) failed[i] = answer;
            }).ConfigureAwait(false);
        var kept = passed.OfType<TrainingExample>().GroupBy(e => (e.Question, e.Answer)).Select(g => g.First()).ToList();
        WritePreferences(Path.Combine(folder, $"round-{round}", "dpo.jsonl"), kept, [.. failed.OfType<TrainingExample>()]);
        return (work.Count, kept);
    }

    /// <summary>
    /// Preference pairs from the round's own samples, in TRL's shape: for a prompt with answers the judge kept and
    /// answers it rejected, each kept answer is chosen over a different rejected one (as many pairs as the smaller side).
    /// </summary>
    private static void WritePreferences(string path, IReadOnlyList<TrainingExample> kept, IReadOnlyList<TrainingExample> rejected)
    {
        var rejectedByPrompt = rejected.GroupBy(e => e.Question).ToDictionary(g => g.Key, g => g.Select(e => e.Answer).Distinct().ToList());
        JsonLines.Write(path, kept.GroupBy(e => e.Question).Where(g => rejectedByPrompt.ContainsKey(g.Key))
            .SelectMany(g => g.Select(e => e.Answer).Zip(rejectedByPrompt[g.Key], (chosen, bad) => new { prompt = g.Key, chosen, rejected = bad })));
    }

    /// <summary>
    /// A line per key metric across rounds (the base is round 0; a round whose answers all failed trained no adapter and
    /// has no point), for the loop's page and the overnight report.
    /// </summary>
    public static object[] Curves(IReadOnlyList<StudentMetrics> metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var content = new List<object> { new XElement("p", "round 0 is the base") };
        foreach (var key in new[] { "false_premise_correction", "refusal_rate", "over_refusal", "correctness", "token_f1", "combination_all" })
        {
            var points = metrics.Select(m => (X: m.Student == "base" ? 0.0 : double.Parse(m.Student["round ".Length..], CultureInfo.InvariantCulture), Y: m.Metrics.First(v => v.Key == key).Value))
                .Where(p => p.Y is not null).Select(p => (p.X, p.Y!.Value)).ToList();
            content.Add(new XElement("h3", metrics[0].Metrics.First(v => v.Key == key).Label.Trim()));
            content.Add(HtmlReport.Line(points, "round", key));
        }
        return [.. content];
    }

    /// <summary><c>loop.md</c> (rounds and metrics) and <c>report.html</c> with a line per key metric across rounds.</summary>
    private static void Write(string folder, IReadOnlyList<LoopRound> rounds, IReadOnlyList<StudentMetrics> metrics)
    {
        var b = new StringBuilder("| round | answers sampled | kept by the judge | adapter |\n| --- | --- | --- | --- |\n");
        foreach (var r in rounds) b.Append(CultureInfo.InvariantCulture, $"| {r.Round} | {r.Sampled} | {r.Kept} | {(r.Adapter is null ? "none (nothing passed)" : Path.GetRelativePath(folder, r.Adapter))} |\n");
        var evalTable = Path.Combine(folder, "eval", "eval.md");
        if (File.Exists(evalTable)) b.Append("\n## Metrics per round\n\n").Append(File.ReadAllText(evalTable));
        AtomicFile.WriteText(Path.Combine(folder, "loop.md"), b.ToString());
        if (metrics.Count == 0) return;
        var page = new HtmlReport("Self-improvement rounds").Section("loop", "Metrics per round", Curves(metrics));
        AtomicFile.WriteText(Path.Combine(folder, "report.html"), page.Render([], "synth loop"));
    }
}

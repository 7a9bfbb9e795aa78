using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using SynthPipeline.Core.Augment;
using SynthPipeline.Llama;
using SynthPipeline.Pipeline.Eval;
using SynthPipeline.Pipeline.Output;
using SynthPipeline.Training;
using SynthPipeline.Training.Data;

namespace SynthPipeline.Pipeline.Loop;

/// <summary>One ablation arm: the kinds of example its adapter is trained on.</summary>
public sealed record AblationArm(string Name, IReadOnlyList<ExampleKind> Kinds)
{
    public static readonly IReadOnlyList<AblationArm> Standard =
    [
        new("legitimate only", [ExampleKind.Legitimate]),
        new("legitimate + negatives", [ExampleKind.Legitimate, ExampleKind.Negative]),
        new("legitimate + refusals", [ExampleKind.Legitimate, ExampleKind.Refusal]),
        new("all", [ExampleKind.Legitimate, ExampleKind.Negative, ExampleKind.Refusal]),
    ];

    public string Folder => Name.Replace(" + ", "-", StringComparison.Ordinal).Replace(' ', '-');
}

/// <summary>
/// <c>synth eval --ablate</c>: adapters trained from the base on legitimate examples only, with negatives, with
/// refusals, and on all, each at the same budget of trained tokens (every arm takes its examples in one seeded order
/// until the smallest arm's total is reached), then evaluated side by side with the base on the held-out probes.
/// Each arm trains in its own folder and resumes from its checkpoint; answers and verdicts are cached.
/// </summary>
public static class Ablation
{
    public static async Task<IReadOnlyList<StudentMetrics>?> RunAsync(RunLayout run, EvalInputs inputs, string folder, TrainerOptions trainer, ILoggerFactory loggers,
        Action<string> log, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(log);
        var examples = TrainingExample.Read(run.Examples);
        var tokens = CountTokens(examples, inputs.BaseModel, trainer.SequenceLength);
        var order = examples.OrderBy(e => Core.Eval.ProbeSplit.Draw(trainer.Seed, e.Id)).ToList();
        var present = examples.Select(e => e.Kind).ToHashSet();
        if (!present.Contains(ExampleKind.Legitimate)) throw new Core.UserErrorException($"--ablate: {run.Examples} has no legitimate examples to train the arms on");
        // An arm that adds a kind the run never made would only repeat a smaller arm under another name.
        foreach (var missing in AblationArm.Standard.Where(a => !a.Kinds.All(present.Contains)))
            log($"ablation: the arm '{missing.Name}' is left out: the run has no {string.Join(" or ", missing.Kinds.Where(k => !present.Contains(k))).ToLowerInvariant()} examples");
        var arms = AblationArm.Standard.Where(a => a.Kinds.All(present.Contains)).Select(a => (Arm: a, Pool: order.Where(e => a.Kinds.Contains(e.Kind)).ToList())).ToList();
        var budget = arms.Min(a => a.Pool.Sum(e => tokens[e.Id]));
        log(string.Create(CultureInfo.InvariantCulture, $"ablation: {arms.Count} arms at {budget} trained tokens each"));
        var targets = new List<EvalTarget> { new("base", null) };
        var summary = new StringBuilder("| arm | examples | trained tokens |\n| --- | --- | --- |\n");
        foreach (var (arm, pool) in arms)
        {
            var taken = new List<TrainingExample>();
            long sum = 0;
            foreach (var e in pool)
            {
                if (sum + tokens[e.Id] > budget) continue;
                taken.Add(e);
                sum += tokens[e.Id];
            }
            var armFolder = Path.Combine(folder, arm.Folder);
            Directory.CreateDirectory(armFolder);
            var data = Path.Combine(armFolder, "data.jsonl");
            TrainingExample.WriteChat(data, taken);
            summary.Append(CultureInfo.InvariantCulture, $"| {arm.Name} | {taken.Count} | {sum} |\n");
            log(string.Create(CultureInfo.InvariantCulture, $"ablation {arm.Name}: {taken.Count} examples, {sum} trained tokens"));
            var adapter = await AdapterTraining.TrainAsync(data, inputs.BaseModel, armFolder, trainer, log, cancellationToken).ConfigureAwait(false);
            if (adapter is null) return null;
            targets.Add(new EvalTarget(arm.Name, adapter));
        }
        AtomicFile.WriteText(Path.Combine(folder, "arms.md"), summary.ToString());
        return await EvaluationRun.RunAsync(folder, inputs, targets, loggers, log, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Trained tokens of each example as <c>synth train</c> counts them: the answer's tokens under the student's chat template.</summary>
    private static Dictionary<string, long> CountTokens(IReadOnlyList<TrainingExample> examples, string studentPath, int sequenceLength)
    {
        using var vocab = LlamaModel.Load(studentPath, new LlamaModelLoadOptions { VocabOnly = true });
        var tokenizer = new ChatTokenizer(vocab);
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var e in examples)
            counts[e.Id] = tokenizer.Tokenize(new Conversation([new Turn("user", e.Question), new Turn("assistant", e.Answer)], e.Id), sequenceLength).TrainedCount;
        return counts;
    }
}

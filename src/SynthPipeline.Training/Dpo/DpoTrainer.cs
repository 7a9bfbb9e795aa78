using System.Text.Json;
using SynthPipeline.Training.Data;
using static TorchSharp.torch;

namespace SynthPipeline.Training.Dpo;

/// <summary>The DPO loss of a batch (a graph when training) and its rewards, as tensors of one value per pair.</summary>
public sealed record DpoBatchLoss(Tensor Loss, Tensor ChosenRewards, Tensor RejectedRewards) : IDisposable
{
    public PreferenceMetrics Metrics()
    {
        var chosen = ChosenRewards.to(float64).cpu().data<double>().ToArray();
        var rejected = RejectedRewards.to(float64).cpu().data<double>().ToArray();
        return new PreferenceMetrics(chosen.Average(), rejected.Average(), chosen.Zip(rejected, (c, r) => c - r).Average(),
            chosen.Zip(rejected, (c, r) => c > r ? 1.0 : 0.0).Average());
    }

    public void Dispose()
    {
        Loss.Dispose();
        ChosenRewards.Dispose();
        RejectedRewards.Dispose();
    }
}

/// <summary>
/// Direct Preference Optimization on a LoRA adapter: loss = −log σ(β·[(log π(c) − log π_ref(c)) − (log π(r) − log π_ref(r))])
/// over the summed log-probabilities of each answer's trained tokens. The policy is the base with the adapter; the
/// reference is the same base with the adapter switched off, so no second copy of the model exists. Reference
/// log-probabilities do not change during training, so each pair's are computed once and kept. Data order, dropout,
/// the schedule and checkpoints follow the SFT trainer, so a resumed run reaches the same weights.
/// </summary>
public sealed class DpoTrainer(LlamaTransformer model, LoraWeights lora, TrainerOptions options, double beta, int padToken)
{
    private readonly LoraOptimizer _optimizer = new(lora, options);
    private readonly Dictionary<PreferenceExample, (double Chosen, double Rejected)> _reference = new(ReferenceEqualityComparer.Instance);

    public int Step => _optimizer.Step;

    public double Beta => beta;

    /// <summary>Per sequence, the sum of log-probabilities of its trained tokens under the base with <paramref name="adapt"/> (null: the base alone).</summary>
    public Tensor SequenceLogProbs(IReadOnlyList<TokenizedExample> sequences, Func<string, Tensor, Tensor, Tensor>? adapt)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        var (ids, mask, length) = PaddedBatch.Build(sequences, options.SequenceLength, padToken);
        using var scope = NewDisposeScope();
        var tokens = tensor(ids, [sequences.Count, length]).to(model.Device);
        var weights = tensor(mask, [sequences.Count, length]).to(model.Device);
        var logits = model.Forward(tokens, adapt);
        // Position t predicts token t+1, as in the SFT loss.
        var logProbs = logits[.., ..(length - 1)].log_softmax(-1).gather(-1, tokens[.., 1..].unsqueeze(-1)).squeeze(-1);
        return (logProbs * weights[.., 1..]).sum(1).MoveToOuterDisposeScope();
    }

    /// <summary>The batch's mean DPO loss and per-pair rewards; <paramref name="training"/> turns the adapter's dropout on.</summary>
    public DpoBatchLoss Loss(IReadOnlyList<PreferenceExample> batch, bool training)
    {
        ArgumentNullException.ThrowIfNull(batch);
        using var scope = NewDisposeScope();
        // One forward over chosen and rejected together: the policy sees both halves in one batch.
        var policy = SequenceLogProbs([.. batch.Select(p => p.Chosen), .. batch.Select(p => p.Rejected)], lora.Adapter(training));
        var n = batch.Count;
        var reference = Reference(batch);
        var chosenRatio = policy[..n] - reference[..n];
        var rejectedRatio = policy[n..] - reference[n..];
        var loss = -nn.functional.logsigmoid((chosenRatio - rejectedRatio) * beta).mean();
        return new DpoBatchLoss(loss.MoveToOuterDisposeScope(), (chosenRatio.detach() * beta).MoveToOuterDisposeScope(),
            (rejectedRatio.detach() * beta).MoveToOuterDisposeScope());
    }

    /// <summary>Reference log-probabilities [chosen…, rejected…] of the pairs, computed without the adapter once per pair.</summary>
    private Tensor Reference(IReadOnlyList<PreferenceExample> batch)
    {
        var missing = batch.Where(p => !_reference.ContainsKey(p)).Distinct(ReferenceEqualityComparer.Instance).Cast<PreferenceExample>().ToList();
        if (missing.Count > 0)
        {
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            var values = SequenceLogProbs([.. missing.Select(p => p.Chosen), .. missing.Select(p => p.Rejected)], adapt: null)
                .to(float64).cpu().data<double>().ToArray();
            for (var i = 0; i < missing.Count; i++) _reference[missing[i]] = (values[i], values[missing.Count + i]);
        }
        var all = batch.Select(p => _reference[p].Chosen).Concat(batch.Select(p => _reference[p].Rejected)).ToArray();
        return tensor(all).to(float32).to(model.Device);
    }

    /// <summary>
    /// Runs optimizer steps from <see cref="Step"/> to the end (or to <paramref name="untilStep"/>); <paramref name="onStep"/>
    /// gets each record with its preference metrics, and <paramref name="checkpoint"/> is asked after each step.
    /// </summary>
    public void Train(IReadOnlyList<PreferenceExample> train, IReadOnlyList<PreferenceExample> eval, Action<StepRecord> onStep,
        Func<int, bool>? checkpoint = null, int? untilStep = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(eval);
        ArgumentNullException.ThrowIfNull(onStep);
        if (train.Count == 0) throw new TrainingDataException("the preference set is empty");
        var total = TrainingSchedule.TotalSteps(options, train.Count);
        var perEpoch = (int)Math.Ceiling(train.Count / (double)options.BatchSize);
        List<List<PreferenceExample>>? epochBatches = null;
        var epochOf = -1;
        while (Step < Math.Min(total, untilStep ?? int.MaxValue))
        {
            cancellationToken.ThrowIfCancellationRequested();
            double lossSum = 0, chosen = 0, rejected = 0, margin = 0, accuracy = 0;
            long tokens = 0;
            for (var a = 0; a < options.GradientAccumulation; a++)
            {
                // The micro-batches of this step follow from (seed, step) alone: a resumed run sees the same data.
                var index = Step * options.GradientAccumulation + a;
                if (index / perEpoch != epochOf)
                {
                    epochOf = index / perEpoch;
                    epochBatches = TrainingSchedule.Batches(train, p => p.Length, options.BatchSize, options.Seed, epochOf);
                }
                var batch = epochBatches![index % perEpoch];
                manual_seed(options.Seed * 1_000_003L + index);
                using var scope = NewDisposeScope();
                using var result = Loss(batch, training: true);
                (result.Loss / options.GradientAccumulation).backward();
                lossSum += result.Loss.item<float>();
                var m = result.Metrics();
                (chosen, rejected, margin, accuracy) = (chosen + m.ChosenReward, rejected + m.RejectedReward, margin + m.Margin, accuracy + m.Accuracy);
                tokens += batch.Sum(p => p.Chosen.TrainedCount + p.Rejected.TrainedCount);
            }
            var lr = TrainingSchedule.LearningRateAt(options, Step, total);
            _optimizer.Apply(lr);
            var ga = options.GradientAccumulation;
            double? evalLoss = null;
            PreferenceMetrics? evalMetrics = null;
            var checkpointNow = checkpoint?.Invoke(Step) ?? false;
            if (eval.Count > 0 && (checkpointNow || Step == total)) (evalLoss, evalMetrics) = Evaluate(eval);
            onStep(new StepRecord(Step, lossSum / ga, lr, evalLoss, tokens)
            {
                Preference = new PreferenceMetrics(chosen / ga, rejected / ga, margin / ga, accuracy / ga),
                EvalPreference = evalMetrics,
                TotalSteps = total,
            });
        }
    }

    /// <summary>Mean DPO loss and metrics over held-out pairs, without dropout.</summary>
    public (double Loss, PreferenceMetrics Metrics) Evaluate(IReadOnlyList<PreferenceExample> eval)
    {
        ArgumentNullException.ThrowIfNull(eval);
        using var noGrad = no_grad();
        var losses = new List<double>();
        var chosen = new List<double>();
        var rejected = new List<double>();
        foreach (var batch in eval.Chunk(options.BatchSize))
        {
            using var scope = NewDisposeScope();
            using var result = Loss(batch, training: false);
            losses.AddRange(Enumerable.Repeat((double)result.Loss.item<float>(), batch.Length));
            chosen.AddRange(result.ChosenRewards.to(float64).cpu().data<double>().ToArray());
            rejected.AddRange(result.RejectedRewards.to(float64).cpu().data<double>().ToArray());
        }
        return (losses.Average(), new PreferenceMetrics(chosen.Average(), rejected.Average(), chosen.Zip(rejected, (c, r) => c - r).Average(),
            chosen.Zip(rejected, (c, r) => c > r ? 1.0 : 0.0).Average()));
    }

    /// <summary>Writes the adapter, the optimizer moments, the step and the settings (β included) to <paramref name="folder"/>.</summary>
    public void SaveCheckpoint(string folder) => _optimizer.Save(folder, JsonSerializer.Serialize(new { options, beta }));

    /// <summary>Restores a checkpoint written by <see cref="SaveCheckpoint"/>.</summary>
    public void LoadCheckpoint(string folder) => _optimizer.Load(folder);
}

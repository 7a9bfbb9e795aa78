using System.Globalization;
using System.Text.Json;
using SynthPipeline.Training.Data;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using SynthPipeline.Core;

namespace SynthPipeline.Training;

/// <summary>Optimisation settings of <see cref="LoraTrainer"/>.</summary>
public sealed record TrainerOptions
{
    public float LearningRate { get; init; } = 2e-4f;
    public float WeightDecay { get; init; } = 0.0f;
    public int Epochs { get; init; } = 1;
    /// <summary>Optimizer steps to run; 0 = as many as the epochs give.</summary>
    public int MaxSteps { get; init; }
    public int WarmupSteps { get; init; } = 10;
    /// <summary>Examples per micro-batch, grouped by length and padded.</summary>
    public int BatchSize { get; init; } = 4;
    public int GradientAccumulation { get; init; } = 1;
    public float MaxGradNorm { get; init; } = 1.0f;
    public int SequenceLength { get; init; } = 1024;
    public int Seed { get; init; } = 42;
    /// <summary>Save a checkpoint every this many optimizer steps (0 = only at the end).</summary>
    public int CheckpointEvery { get; init; } = 50;
}

/// <summary>One optimizer step's record; a DPO step also carries its preference metrics (and on evaluation, the held-out ones).</summary>
public sealed record StepRecord(int Step, double Loss, double LearningRate, double? EvalLoss, long Tokens)
{
    public PreferenceMetrics? Preference { get; init; }

    /// <summary>The optimizer steps the run will take in all, for progress and ETA (0 when unknown).</summary>
    public int TotalSteps { get; init; }

    public PreferenceMetrics? EvalPreference { get; init; }
}

/// <summary>
/// DPO's view of a step: the implicit rewards β·(log π − log π_ref) of the chosen and rejected answers (means), their
/// margin, and the share of pairs whose chosen answer has the higher reward.
/// </summary>
public sealed record PreferenceMetrics(double ChosenReward, double RejectedReward, double Margin, double Accuracy);

/// <summary>
/// Trains LoRA matrices on tokenized conversations: masked next-token cross-entropy (only trainable assistant tokens
/// count), AdamW (decoupled weight decay, written out so its moments are checkpointed exactly), linear warm-up then
/// cosine decay, gradient accumulation and norm clipping. Data order and dropout are derived from (seed, step), so a run
/// resumed from a checkpoint reaches the same weights as one that never stopped.
/// </summary>
public sealed class LoraTrainer(LlamaTransformer model, LoraWeights lora, TrainerOptions options, int padToken)
{
    private readonly LoraOptimizer _optimizer = new(lora, options);

    public int Step => _optimizer.Step;

    /// <summary>The micro-batches of one epoch: shuffled by (seed, epoch), then sorted by length within windows of 16 batches.</summary>
    public static List<List<TokenizedExample>> Batches(IReadOnlyList<TokenizedExample> examples, int batchSize, int seed, int epoch) =>
        TrainingSchedule.Batches(examples, e => e.Tokens.Length, batchSize, seed, epoch);

    /// <summary>Micro-batch number <paramref name="index"/> of the run (epochs follow one another).</summary>
    public List<TokenizedExample> MicroBatch(IReadOnlyList<TokenizedExample> train, int index)
    {
        ArgumentNullException.ThrowIfNull(train);
        var perEpoch = (int)Math.Ceiling(train.Count / (double)options.BatchSize);
        var epoch = index / perEpoch;
        // One shuffle per epoch, not per micro-batch.
        if (_epochBatches is null || _epoch != epoch || !ReferenceEquals(_epochData, train))
            (_epochBatches, _epoch, _epochData) = (Batches(train, options.BatchSize, options.Seed, epoch), epoch, train);
        return _epochBatches[index % perEpoch];
    }

    private List<List<TokenizedExample>>? _epochBatches;
    private int _epoch;
    private IReadOnlyList<TokenizedExample>? _epochData;

    /// <summary>
    /// Writes every optimizer step's micro-batches, padded exactly as <see cref="Loss"/> pads them, with the learning
    /// rate of the step, as JSON lines: the input for a PyTorch reference run on the same data.
    /// </summary>
    public void DumpSchedule(IReadOnlyList<TokenizedExample> train, string path)
    {
        ArgumentNullException.ThrowIfNull(train);
        var total = TotalSteps(train.Count);
        using var writer = new StreamWriter(path);
        for (var step = 0; step < total; step++)
            for (var a = 0; a < options.GradientAccumulation; a++)
            {
                var batch = MicroBatch(train, step * options.GradientAccumulation + a);
                var length = Math.Min(options.SequenceLength, batch.Max(e => e.Tokens.Length));
                var ids = batch.Select(e => Enumerable.Range(0, length).Select(t => t < e.Tokens.Length ? e.Tokens[t] : padToken).ToArray()).ToArray();
                var mask = batch.Select(e => Enumerable.Range(0, length).Select(t => t < e.Tokens.Length && e.Trained[t] ? 1 : 0).ToArray()).ToArray();
                writer.WriteLine(JsonSerializer.Serialize(new { step, micro = a, lr = LearningRateAt(step, total), ids, mask }));
            }
    }

    public int TotalSteps(int trainCount) => TrainingSchedule.TotalSteps(options, trainCount);

    /// <summary>Warm-up from 0 to the peak, then cosine decay to 10% of it.</summary>
    public double LearningRateAt(int step, int total) => TrainingSchedule.LearningRateAt(options, step, total);

    /// <summary>Mean loss over the trainable tokens of a batch (a graph when <paramref name="training"/>).</summary>
    public Tensor Loss(IReadOnlyList<TokenizedExample> batch, bool training)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var (ids, mask, length) = PaddedBatch.Build(batch, options.SequenceLength, padToken);
        using var scope = NewDisposeScope();
        var tokens = tensor(ids, [batch.Count, length]).to(model.Device);
        var weights = tensor(mask, [batch.Count, length]).to(model.Device);
        var logits = model.Forward(tokens, lora.Adapter(training));
        // Position t predicts token t+1; the target's own mark says whether it is trained on.
        var logProbs = logits[.., ..(length - 1)].log_softmax(-1);
        var targets = tokens[.., 1..].unsqueeze(-1);
        var nll = -logProbs.gather(-1, targets).squeeze(-1);
        var w = weights[.., 1..];
        return ((nll * w).sum() / w.sum().clamp_min(1)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Runs optimizer steps from <see cref="Step"/> to the end (or to <paramref name="untilStep"/>, as an interrupted run
    /// would); <paramref name="onStep"/> gets each record, and <paramref name="checkpoint"/> is asked after each step.
    /// </summary>
    public void Train(IReadOnlyList<TokenizedExample> train, IReadOnlyList<TokenizedExample> eval, Action<StepRecord> onStep,
        Func<int, bool>? checkpoint = null, int? untilStep = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(eval);
        ArgumentNullException.ThrowIfNull(onStep);
        if (train.Count == 0) throw new TrainingDataException("the training set is empty");
        var total = TotalSteps(train.Count);
        var perEpoch = (int)Math.Ceiling(train.Count / (double)options.BatchSize);
        while (Step < Math.Min(total, untilStep ?? int.MaxValue))
        {
            cancellationToken.ThrowIfCancellationRequested();
            // The micro-batches of this step follow from (seed, step) alone: a resumed run sees the same data.
            var first = Step * options.GradientAccumulation;
            double lossSum = 0;
            long tokens = 0;
            for (var a = 0; a < options.GradientAccumulation; a++)
            {
                var index = first + a;
                var batch = MicroBatch(train, index);
                manual_seed(options.Seed * 1_000_003L + index);
                using var scope = NewDisposeScope();
                var loss = Loss(batch, training: true);
                (loss / options.GradientAccumulation).backward();
                lossSum += loss.item<float>();
                tokens += batch.Sum(e => e.TrainedCount);
            }
            var lr = LearningRateAt(Step, total);
            _optimizer.Apply(lr);
            double? evalLoss = null;
            var checkpointNow = checkpoint?.Invoke(Step) ?? false;
            if (eval.Count > 0 && (checkpointNow || Step == total)) evalLoss = Evaluate(eval);
            onStep(new StepRecord(Step, lossSum / options.GradientAccumulation, lr, evalLoss, tokens) { TotalSteps = total });
        }
    }

    public double Evaluate(IReadOnlyList<TokenizedExample> eval)
    {
        ArgumentNullException.ThrowIfNull(eval);
        using var noGrad = no_grad();
        double sum = 0;
        long weight = 0;
        foreach (var batch in eval.Chunk(options.BatchSize))
        {
            using var scope = NewDisposeScope();
            var n = batch.Sum(e => e.Trained.Skip(1).Count(t => t));
            sum += Loss(batch, training: false).item<float>() * n;
            weight += n;
        }
        return weight == 0 ? 0 : sum / weight;
    }

    /// <summary>Writes the adapter, the optimizer moments and the step, atomically, to <paramref name="folder"/>.</summary>
    public void SaveCheckpoint(string folder) => _optimizer.Save(folder, JsonSerializer.Serialize(options));

    /// <summary>Restores a checkpoint written by <see cref="SaveCheckpoint"/>.</summary>
    public void LoadCheckpoint(string folder) => _optimizer.Load(folder);
}

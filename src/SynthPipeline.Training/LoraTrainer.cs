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

/// <summary>One optimizer step's record.</summary>
public sealed record StepRecord(int Step, double Loss, double LearningRate, double? EvalLoss, long Tokens);

/// <summary>
/// Trains LoRA matrices on tokenized conversations: masked next-token cross-entropy (only trainable assistant tokens
/// count), AdamW (decoupled weight decay, written out so its moments are checkpointed exactly), linear warm-up then
/// cosine decay, gradient accumulation and norm clipping. Data order and dropout are derived from (seed, step), so a run
/// resumed from a checkpoint reaches the same weights as one that never stopped.
/// </summary>
public sealed class LoraTrainer(LlamaTransformer model, LoraWeights lora, TrainerOptions options, int padToken)
{
    private const float Beta1 = 0.9f, Beta2 = 0.999f, Epsilon = 1e-8f;
    private readonly Dictionary<string, (Tensor M, Tensor V)> _moments = [];

    public int Step { get; private set; }

    /// <summary>The micro-batches of one epoch: shuffled by (seed, epoch), then sorted by length within windows of 16 batches.</summary>
    public static List<List<TokenizedExample>> Batches(IReadOnlyList<TokenizedExample> examples, int batchSize, int seed, int epoch)
    {
        ArgumentNullException.ThrowIfNull(examples);
        var rng = new Random(unchecked(seed * 7919 + epoch));
        var order = examples.ToArray();
        rng.Shuffle(order);
        var batches = new List<List<TokenizedExample>>();
        foreach (var window in order.Chunk(batchSize * 16))
            batches.AddRange(window.OrderBy(e => e.Tokens.Length).Chunk(batchSize).Select(c => c.ToList()));
        rng.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(batches));
        return batches;
    }

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

    public int TotalSteps(int trainCount)
    {
        var perEpoch = (int)Math.Ceiling(Math.Ceiling(trainCount / (double)options.BatchSize) / options.GradientAccumulation);
        var total = perEpoch * options.Epochs;
        return options.MaxSteps > 0 ? Math.Min(options.MaxSteps, total) : total;
    }

    /// <summary>Warm-up from 0 to the peak, then cosine decay to 10% of it.</summary>
    public double LearningRateAt(int step, int total)
    {
        if (step < options.WarmupSteps) return options.LearningRate * (step + 1) / (double)options.WarmupSteps;
        var progress = total <= options.WarmupSteps ? 1 : (step - options.WarmupSteps) / (double)Math.Max(1, total - options.WarmupSteps);
        return options.LearningRate * (0.1 + 0.9 * 0.5 * (1 + Math.Cos(Math.PI * Math.Min(1, progress))));
    }

    /// <summary>Mean loss over the trainable tokens of a batch (a graph when <paramref name="training"/>).</summary>
    public Tensor Loss(IReadOnlyList<TokenizedExample> batch, bool training)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var length = Math.Min(options.SequenceLength, batch.Max(e => e.Tokens.Length));
        var ids = new long[batch.Count * length];
        var mask = new float[batch.Count * length];
        for (var b = 0; b < batch.Count; b++)
        {
            var e = batch[b];
            for (var t = 0; t < length; t++)
            {
                ids[b * length + t] = t < e.Tokens.Length ? e.Tokens[t] : padToken;
                mask[b * length + t] = t < e.Tokens.Length && e.Trained[t] ? 1 : 0;
            }
        }
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
            ApplyAdamW(lr);
            Step++;
            double? evalLoss = null;
            var checkpointNow = checkpoint?.Invoke(Step) ?? false;
            if (eval.Count > 0 && (checkpointNow || Step == total)) evalLoss = Evaluate(eval);
            onStep(new StepRecord(Step, lossSum / options.GradientAccumulation, lr, evalLoss, tokens));
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

    // The moments of all adapter tensors live in two flat buffers, and _moments holds views into them (by name, for
    // checkpoints). One step is then a handful of kernels over every parameter at once instead of a dozen per tensor:
    // with 128 adapter tensors the per-tensor loop launched about 2,000 small kernels per step, as PyTorch's foreach
    // AdamW avoids.
    private Tensor? _flatM, _flatV;

    private void ApplyAdamW(double lr)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var parameters = lora.Pairs.SelectMany(p => new[] { ($"{p.Key}.lora_a", p.Value.A), ($"{p.Key}.lora_b", p.Value.B) })
            .Where(p => p.Item2.grad is not null).ToList();
        if (parameters.Count == 0) return;
        EnsureFlatMoments(parameters);
        var g = cat(parameters.Select(p => p.Item2.grad!.flatten()).ToArray());
        // Clip by the global norm of all gradients, read back once.
        var norm = g.norm().item<float>();
        var clip = options.MaxGradNorm > 0 && norm > options.MaxGradNorm ? options.MaxGradNorm / (norm + 1e-6) : 1.0;
        var t = Step + 1;
        var correction1 = 1 - Math.Pow(Beta1, t);
        var correction2 = 1 - Math.Pow(Beta2, t);
        if (clip != 1.0) g.mul_(clip);
        _flatM!.mul_(Beta1).add_(g, alpha: 1 - Beta1);
        _flatV!.mul_(Beta2).addcmul_(g, g, value: 1 - Beta2);
        var update = (_flatM / correction1).div_((_flatV / correction2).sqrt_().add_(Epsilon)).mul_(-lr);
        long offset = 0;
        foreach (var (_, p) in parameters)
        {
            var n = p.numel();
            if (options.WeightDecay > 0) p.mul_(1 - lr * options.WeightDecay);
            p.add_(update.narrow(0, offset, n).view_as(p));
            p.grad!.zero_();
            offset += n;
        }
    }

    /// <summary>Flat moment buffers in the order of <paramref name="parameters"/>, seeded from loaded (or earlier) moments.</summary>
    private void EnsureFlatMoments(List<(string Name, Parameter P)> parameters)
    {
        var total = parameters.Sum(p => p.P.numel());
        if (_flatM is not null && _flatM.numel() == total) return;
        var device = parameters[0].P.device;
        Tensor Gather(Func<(Tensor M, Tensor V), Tensor> pick) => cat(parameters.Select(p =>
            (_moments.TryGetValue(p.Name, out var m) ? pick(m) : zeros_like(p.P)).flatten().to(device)).ToArray());
        var flatM = Gather(m => m.M).DetachFromDisposeScope();
        var flatV = Gather(m => m.V).DetachFromDisposeScope();
        foreach (var (m, v) in _moments.Values)
        {
            m.Dispose();
            v.Dispose();
        }
        _moments.Clear();
        long offset = 0;
        foreach (var (name, p) in parameters)
        {
            var n = p.numel();
            _moments[name] = (flatM.narrow(0, offset, n).view_as(p).DetachFromDisposeScope(), flatV.narrow(0, offset, n).view_as(p).DetachFromDisposeScope());
            offset += n;
        }
        _flatM?.Dispose();
        _flatV?.Dispose();
        (_flatM, _flatV) = (flatM, flatV);
    }

    /// <summary>Writes the adapter, the optimizer moments and the step, atomically, to <paramref name="folder"/>.</summary>
    public void SaveCheckpoint(string folder)
    {
        Directory.CreateDirectory(folder);
        var tensors = new List<NamedTensor>();
        foreach (var (name, (a, b)) in lora.Pairs)
        {
            tensors.Add(ToNamed($"{name}.lora_a", a));
            tensors.Add(ToNamed($"{name}.lora_b", b));
        }
        foreach (var (name, (m, v)) in _moments)
        {
            tensors.Add(ToNamed($"{name}.adam_m", m));
            tensors.Add(ToNamed($"{name}.adam_v", v));
        }
        Safetensors.Write(Path.Combine(folder, "checkpoint.safetensors"), tensors,
            new Dictionary<string, string> { ["step"] = Step.ToString(CultureInfo.InvariantCulture), ["options"] = JsonSerializer.Serialize(options) });
    }

    /// <summary>Restores a checkpoint written by <see cref="SaveCheckpoint"/>.</summary>
    public void LoadCheckpoint(string folder)
    {
        var (tensors, metadata) = Safetensors.Read(Path.Combine(folder, "checkpoint.safetensors"));
        var byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        using var noGrad = no_grad();
        foreach (var (name, (a, b)) in lora.Pairs)
        {
            Copy(byName, $"{name}.lora_a", a);
            Copy(byName, $"{name}.lora_b", b);
            if (byName.TryGetValue($"{name}.lora_a.adam_m", out _))
            {
                foreach (var part in new[] { "lora_a", "lora_b" })
                {
                    var key = $"{name}.{part}";
                    var like = part == "lora_a" ? a : b;
                    var m = zeros_like(like).DetachFromDisposeScope();
                    var v = zeros_like(like).DetachFromDisposeScope();
                    Copy(byName, $"{key}.adam_m", m);
                    Copy(byName, $"{key}.adam_v", v);
                    _moments[key] = (m, v);
                }
            }
        }
        Step = int.Parse(metadata["step"], CultureInfo.InvariantCulture);
    }

    private static NamedTensor ToNamed(string name, Tensor t) => new(name, t.shape, t.detach().cpu().to(ScalarType.Float32).data<float>().ToArray());

    private static void Copy(Dictionary<string, NamedTensor> from, string name, Tensor into)
    {
        if (!from.TryGetValue(name, out var t)) throw new UserErrorException($"the checkpoint lacks {name}");
        if (!t.Shape.SequenceEqual(into.shape)) throw new UserErrorException($"checkpoint tensor {name} has shape [{string.Join(", ", t.Shape)}], expected [{string.Join(", ", into.shape)}]");
        into.copy_(tensor(t.Values, t.Shape).to(into.device));
    }
}

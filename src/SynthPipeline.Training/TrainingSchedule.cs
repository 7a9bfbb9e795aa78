namespace SynthPipeline.Training;

/// <summary>
/// What the SFT and DPO trainers share about the order of work: length-grouped micro-batches derived from
/// (seed, epoch) alone, the number of optimizer steps, and the learning rate at each step.
/// </summary>
public static class TrainingSchedule
{
    /// <summary>The micro-batches of one epoch: shuffled by (seed, epoch), then sorted by length within windows of 16 batches.</summary>
    public static List<List<T>> Batches<T>(IReadOnlyList<T> items, Func<T, int> length, int batchSize, int seed, int epoch)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(length);
        var rng = new Random(unchecked(seed * 7919 + epoch));
        var order = items.ToArray();
        rng.Shuffle(order);
        var batches = new List<List<T>>();
        foreach (var window in order.Chunk(batchSize * 16))
            batches.AddRange(window.OrderBy(length).Chunk(batchSize).Select(c => c.ToList()));
        rng.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(batches));
        return batches;
    }

    /// <summary>Optimizer steps for <paramref name="itemCount"/> items under <paramref name="options"/>.</summary>
    public static int TotalSteps(TrainerOptions options, int itemCount)
    {
        ArgumentNullException.ThrowIfNull(options);
        var perEpoch = (int)Math.Ceiling(Math.Ceiling(itemCount / (double)options.BatchSize) / options.GradientAccumulation);
        var total = perEpoch * options.Epochs;
        return options.MaxSteps > 0 ? Math.Min(options.MaxSteps, total) : total;
    }

    /// <summary>Warm-up from 0 to the peak, then cosine decay to 10% of it.</summary>
    public static double LearningRateAt(TrainerOptions options, int step, int total)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (step < options.WarmupSteps) return options.LearningRate * (step + 1) / (double)options.WarmupSteps;
        var progress = total <= options.WarmupSteps ? 1 : (step - options.WarmupSteps) / (double)Math.Max(1, total - options.WarmupSteps);
        return options.LearningRate * (0.1 + 0.9 * 0.5 * (1 + Math.Cos(Math.PI * Math.Min(1, progress))));
    }
}

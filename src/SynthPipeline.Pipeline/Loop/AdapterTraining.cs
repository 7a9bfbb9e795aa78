using SynthPipeline.Training;
using SynthPipeline.Training.Runs;

namespace SynthPipeline.Pipeline.Loop;

/// <summary>
/// Trains a fresh adapter from the base on one data file in its own folder, resuming from the folder's checkpoint when
/// a kill interrupted it, and returns at once when the adapter is already there.
/// </summary>
public static class AdapterTraining
{
    /// <returns>The adapter for llama.cpp, or null when Ctrl+C stopped the training (its checkpoint is kept).</returns>
    public static async Task<string?> TrainAsync(string data, string studentPath, string folder, TrainerOptions trainer, Action<string> log, CancellationToken cancellationToken)
    {
        var adapter = Path.Combine(folder, "adapter.gguf");
        if (File.Exists(adapter)) return adapter;
        var settings = new TrainSettings([data], studentPath, folder, new LoraOptions(), trainer, 0);
        var resume = File.Exists(Path.Combine(folder, TrainingRun.CheckpointFolder, "checkpoint.safetensors"));
        // Training blocks in native code: on its own thread, so Ctrl+C handling keeps running.
        var result = await Task.Factory.StartNew(() => TrainingRun.Run(settings, resume, _ => { }, step => log(FormattableString.Invariant($"{Path.GetFileName(folder)} step {step.Step}: loss {step.Loss:F4}")),
            cancellationToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
        Report.LossCurves.WritePage(folder, $"Training: {Path.GetFileName(folder)}");
        return result.Completed ? result.GgufAdapter : null;
    }
}

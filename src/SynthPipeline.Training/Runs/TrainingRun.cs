using System.Text.Json;
using SynthPipeline.Llama;
using SynthPipeline.Llama.Gguf;
using SynthPipeline.Training.Data;
using SynthPipeline.Training.Dpo;
using static TorchSharp.torch;
using SynthPipeline.Core;

namespace SynthPipeline.Training.Runs;

/// <summary>Everything <c>synth train</c> needs.</summary>
/// <remarks><c>ModelPath</c> is a GGUF file or a Hugging Face folder; a folder needs <c>TokenizerPath</c>, a GGUF with the same vocabulary and chat template.</remarks>
public sealed record TrainSettings(IReadOnlyList<string> DataFiles, string ModelPath, string Output, LoraOptions Lora, TrainerOptions Trainer, double EvalFraction)
{
    public string? TokenizerPath { get; init; }

    /// <summary>Supervised fine-tuning on conversations, or DPO on preference pairs.</summary>
    public TrainingMethod Method { get; init; } = TrainingMethod.Sft;

    /// <summary>DPO's β: how far the policy may move from the reference (higher keeps it closer).</summary>
    public double Beta { get; init; } = 0.1;

    /// <summary>Also write the untrained adapter (peft-initial/) and every step's padded batches (schedule.jsonl), for a PyTorch + PEFT reference run.</summary>
    public bool ExportReference { get; init; }
}

/// <summary>What <c>synth train</c> optimises.</summary>
public enum TrainingMethod
{
    /// <summary>Next-token cross-entropy on the assistant turns of conversations.</summary>
    Sft,

    /// <summary>Direct Preference Optimization on {prompt, chosen, rejected} pairs.</summary>
    Dpo,
}

/// <summary>What a finished (or stopped) run left behind.</summary>
public sealed record TrainResult(string Device, int TrainExamples, int EvalExamples, int Skipped, IReadOnlyList<StepRecord> Steps, string? GgufAdapter, string? PeftFolder, bool Completed);

/// <summary>
/// A whole training run: reads and tokenizes the data with the student's tokenizer, splits train/eval, trains LoRA
/// on CUDA when TorchSharp sees a GPU (else the CPU), checkpoints as it goes, and writes loss.csv, loss.png and the
/// adapter for llama.cpp (adapter.gguf) and PEFT (peft/). <c>resume</c> continues from the last checkpoint.
/// </summary>
public static class TrainingRun
{
    public const string CheckpointFolder = "checkpoint";

    public static TrainResult Run(TrainSettings settings, bool resume, Action<string> log, Action<StepRecord> onStep, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(log);
        ArgumentNullException.ThrowIfNull(onStep);
        settings.Lora.Validate();
        if (settings.EvalFraction is < 0 or >= 1) throw new UserErrorException($"--eval-fraction {settings.EvalFraction} must be in [0, 1)");
        if (settings.DataFiles.Count == 0) throw new UserErrorException("give at least one training file (--data)");
        var device = cuda.is_available() ? CUDA : CPU;
        log($"training on {(device.type == TorchSharp.DeviceType.CUDA ? "CUDA (GPU), bf16" : "the CPU, float32")}");

        var loadStarted = System.Diagnostics.Stopwatch.GetTimestamp();
        // bf16 on a GPU (its tensor cores' type); float32 on the CPU, where bf16 matmuls are slow.
        var dtype = device.type == TorchSharp.DeviceType.CUDA ? ScalarType.BFloat16 : ScalarType.Float32;
        using var model = Directory.Exists(settings.ModelPath)
            ? LlamaTransformer.LoadHuggingFace(settings.ModelPath, device, dtype)
            : LlamaTransformer.Load(GgufReader.Read(settings.ModelPath), device, dtype);
        log($"loaded {model.Config.Architecture} ({model.Config.BlockCount} blocks, {model.Config.EmbeddingLength} wide) in {System.Diagnostics.Stopwatch.GetElapsedTime(loadStarted).TotalSeconds:F1} s");
        var tokenizerPath = settings.TokenizerPath ?? (Directory.Exists(settings.ModelPath)
            ? throw new UserErrorException($"'{settings.ModelPath}' is a Hugging Face folder: give --tokenizer, a GGUF with its vocabulary and chat template")
            : settings.ModelPath);
        using var student = LlamaModel.Load(tokenizerPath, new LlamaModelLoadOptions { VocabOnly = true });
        if (student.Vocab.TokenCount != model.Config.VocabSize)
            throw new UserErrorException($"the tokenizer '{tokenizerPath}' has {student.Vocab.TokenCount} tokens but the model's embedding has {model.Config.VocabSize} rows");
        var tokenizer = new ChatTokenizer(student);
        var created = !Directory.Exists(settings.Output);
        Directory.CreateDirectory(settings.Output);
        using var lora = new LoraWeights(model, settings.Lora, settings.Trainer.Seed);
        PreparedTrainer trainer;
        try
        {
            trainer = settings.Method == TrainingMethod.Dpo
                ? PrepareDpo(settings, model, lora, tokenizer, log)
                : PrepareSft(settings, model, lora, tokenizer, resume, log);
        }
        catch (UserErrorException) when (created)
        {
            // A data file at fault stops the run before any step: the folder made for it holds nothing worth keeping.
            Directory.Delete(settings.Output, recursive: true);
            throw;
        }
        var historyPath = Path.Combine(settings.Output, "history.json");
        var steps = new List<StepRecord>();
        var checkpoint = Path.Combine(settings.Output, CheckpointFolder);
        if (resume)
        {
            if (!File.Exists(Path.Combine(checkpoint, "checkpoint.safetensors")))
                throw new UserErrorException($"--resume: '{settings.Output}' has no checkpoint to continue from");
            trainer.LoadCheckpoint(checkpoint);
            if (File.Exists(historyPath))
                steps.AddRange(JsonSerializer.Deserialize<List<StepRecord>>(File.ReadAllText(historyPath))!.Where(s => s.Step <= trainer.Step()));
            log($"resuming at step {trainer.Step()}");
        }

        void SaveState()
        {
            trainer.SaveCheckpoint(checkpoint);
            File.WriteAllText(historyPath + ".tmp", JsonSerializer.Serialize(steps));
            File.Move(historyPath + ".tmp", historyPath, overwrite: true);
            LossReport.WriteCsv(Path.Combine(settings.Output, "loss.csv"), steps);
        }

        var completed = false;
        try
        {
            trainer.Train(r =>
            {
                steps.Add(r);
                onStep(r);
            }, step =>
            {
                if (settings.Trainer.CheckpointEvery <= 0 || step % settings.Trainer.CheckpointEvery != 0) return false;
                SaveState();
                return true;
            }, cancellationToken);
            completed = true;
        }
        catch (OperationCanceledException)
        {
            // saved below; the caller reports the stop
        }
        SaveState();
        if (!completed)
        {
            WritePlot(settings.Output, steps, log);
            return new TrainResult(device.type.ToString(), trainer.TrainCount, trainer.EvalCount, trainer.Skipped, steps, null, null, false);
        }

        var ggufAdapter = Path.Combine(settings.Output, "adapter.gguf");
        AdapterExporter.WriteGguf(ggufAdapter, model.Config, lora);
        var peft = Path.Combine(settings.Output, "peft");
        AdapterExporter.WritePeft(peft, model.Config, lora, Path.GetFileNameWithoutExtension(settings.ModelPath));
        WritePlot(settings.Output, steps, log);
        return new TrainResult(device.type.ToString(), trainer.TrainCount, trainer.EvalCount, trainer.Skipped, steps, ggufAdapter, peft, true);
    }

    /// <summary>A trainer bound to its data: the SFT or DPO loop behind one shape.</summary>
    private sealed record PreparedTrainer(int TrainCount, int EvalCount, int Skipped, Func<int> Step, Action<string> SaveCheckpoint, Action<string> LoadCheckpoint,
        Action<Action<StepRecord>, Func<int, bool>, CancellationToken> Train);

    private static PreparedTrainer PrepareSft(TrainSettings settings, LlamaTransformer model, LoraWeights lora, ChatTokenizer tokenizer, bool resume, Action<string> log)
    {
        var examples = new List<TokenizedExample>();
        var skipped = 0;
        foreach (var file in settings.DataFiles)
            foreach (var conversation in ConversationReader.Read(file))
            {
                var e = tokenizer.Tokenize(conversation, settings.Trainer.SequenceLength);
                if (e.TrainedCount == 0) skipped++;
                else examples.Add(e);
            }
        if (examples.Count == 0)
            throw new TrainingDataException($"{string.Join(", ", settings.DataFiles)}: no conversation has an assistant turn to train on ({skipped} without one)");
        if (skipped > 0) log($"{skipped} conversation(s) without a trainable assistant turn were skipped");
        var (train, eval) = Split(examples, settings);
        log($"{train.Length} training and {eval.Length} evaluation conversations, {train.Sum(e => e.TrainedCount)} trained tokens per epoch");
        var trainer = new LoraTrainer(model, lora, settings.Trainer, padToken: 0);
        if (settings.ExportReference && !resume)
        {
            AdapterExporter.WritePeft(Path.Combine(settings.Output, "peft-initial"), model.Config, lora, Path.GetFileNameWithoutExtension(settings.ModelPath));
            trainer.DumpSchedule(train, Path.Combine(settings.Output, "schedule.jsonl"));
            log("wrote peft-initial/ and schedule.jsonl for a reference run");
        }
        return new PreparedTrainer(train.Length, eval.Length, skipped, () => trainer.Step, trainer.SaveCheckpoint, trainer.LoadCheckpoint,
            (onStep, checkpoint, ct) => trainer.Train(train, eval, onStep, checkpoint, cancellationToken: ct));
    }

    private static PreparedTrainer PrepareDpo(TrainSettings settings, LlamaTransformer model, LoraWeights lora, ChatTokenizer tokenizer, Action<string> log)
    {
        if (!(settings.Beta > 0)) throw new UserErrorException($"--beta {settings.Beta} must be positive");
        if (settings.ExportReference) throw new UserErrorException("--export-reference writes SFT batches; it does not apply to --method dpo");
        var pairs = new List<PreferenceExample>();
        var skipped = 0;
        foreach (var file in settings.DataFiles)
            foreach (var pair in PreferenceReader.Read(file))
            {
                var chosen = tokenizer.Tokenize(pair.ChosenConversation, settings.Trainer.SequenceLength);
                var rejected = tokenizer.Tokenize(pair.RejectedConversation, settings.Trainer.SequenceLength);
                // A pair cut so short that an answer lost every token has nothing to prefer.
                if (chosen.TrainedCount == 0 || rejected.TrainedCount == 0) skipped++;
                else pairs.Add(new PreferenceExample(chosen, rejected));
            }
        if (pairs.Count == 0)
            throw new TrainingDataException($"{string.Join(", ", settings.DataFiles)}: no preference pair fits --seq {settings.Trainer.SequenceLength} with both answers ({skipped} skipped)");
        if (skipped > 0) log($"{skipped} pair(s) whose prompt filled --seq {settings.Trainer.SequenceLength} were skipped");
        var (train, eval) = Split(pairs, settings);
        log($"DPO (beta {settings.Beta}) on {train.Length} training and {eval.Length} evaluation pairs, {train.Sum(p => p.TokenCount)} tokens per epoch; the reference is the base with the adapter off");
        var trainer = new DpoTrainer(model, lora, settings.Trainer, settings.Beta, padToken: 0);
        return new PreparedTrainer(train.Length, eval.Length, skipped, () => trainer.Step, trainer.SaveCheckpoint, trainer.LoadCheckpoint,
            (onStep, checkpoint, ct) => trainer.Train(train, eval, onStep, checkpoint, cancellationToken: ct));
    }

    private static (T[] Train, T[] Eval) Split<T>(List<T> items, TrainSettings settings)
    {
        var order = items.ToArray();
        new Random(settings.Trainer.Seed).Shuffle(order);
        var evalCount = (int)Math.Round(order.Length * settings.EvalFraction);
        return (order[evalCount..], order[..evalCount]);
    }

    /// <summary>loss.png, last: a machine without the plot's native library (SkiaSharp) still gets the adapters and loss.csv.</summary>
    private static void WritePlot(string output, IReadOnlyList<StepRecord> steps, Action<string> log)
    {
        if (steps.Count == 0) return;
        try
        {
            LossReport.WritePng(Path.Combine(output, "loss.png"), steps);
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or EntryPointNotFoundException or BadImageFormatException)
        {
            log($"loss.png not written (the plotting library could not load: {e.GetBaseException().Message}); loss.csv has the same numbers");
        }
    }
}

using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using SynthPipeline.Cli.Hosting;
using SynthPipeline.Training;
using SynthPipeline.Training.Runs;
using SynthPipeline.Core;
using SynthPipeline.Pipeline.State;
using SynthPipeline.Pipeline.Teacher;

namespace SynthPipeline.Cli.Commands;

/// <summary><c>synth train</c>: LoRA on the generated training files, exported for llama.cpp and PEFT.</summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var data = new Option<string[]>("--data", "-d") { Description = "Training JSONL (OpenAI chat, ShareGPT or Alpaca); repeat for several", AllowMultipleArgumentsPerToken = true };
        var model = new Option<string?>("--model", "-m") { Description = "Student: a GGUF, or a Hugging Face folder (config.json + safetensors) with --tokenizer (default: the demo model)" };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "GGUF whose vocabulary and chat template tokenize the data (default: the model's own)" };
        var output = new Option<string?>("--out", "-o") { Description = "Run folder (default: output/train-<time>)" };
        var resume = new Option<string?>("--resume") { Description = "Continue the training run in this folder from its checkpoint" };
        var rank = new Option<int>("--rank") { DefaultValueFactory = _ => 16, Description = "LoRA rank" };
        var alpha = new Option<float>("--alpha") { DefaultValueFactory = _ => 32, Description = "LoRA alpha (scale = alpha / rank)" };
        var dropout = new Option<float>("--dropout") { DefaultValueFactory = _ => 0.05f, Description = "LoRA dropout" };
        var targets = new Option<string>("--targets") { DefaultValueFactory = _ => "attn_q,attn_k,attn_v,attn_output", Description = "Modules: attn_q, attn_k, attn_v, attn_output, ffn_gate, ffn_up, ffn_down" };
        var epochs = new Option<int>("--epochs") { DefaultValueFactory = _ => 1 };
        var maxSteps = new Option<int>("--max-steps") { DefaultValueFactory = _ => 0, Description = "Optimizer steps (0 = as many as the epochs give)" };
        var lr = new Option<float>("--lr") { DefaultValueFactory = _ => 2e-4f, Description = "Peak learning rate" };
        var warmup = new Option<int>("--warmup") { DefaultValueFactory = _ => 10, Description = "Warm-up steps" };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 4, Description = "Conversations per micro-batch" };
        var accumulate = new Option<int>("--accumulate") { DefaultValueFactory = _ => 1, Description = "Micro-batches per optimizer step" };
        var sequence = new Option<int>("--seq") { DefaultValueFactory = _ => 1024, Description = "Maximum tokens per conversation" };
        var evalFraction = new Option<double>("--eval-fraction") { DefaultValueFactory = _ => 0.1, Description = "Share held out for eval loss" };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 42 };
        var reference = new Option<bool>("--export-reference") { Description = "Also write the untrained adapter (peft-initial/) and every step's batches (schedule.jsonl) for a PyTorch + PEFT comparison" };
        var checkpointEvery = new Option<int>("--checkpoint-every") { DefaultValueFactory = _ => 50, Description = "Optimizer steps between checkpoints" };
        var method = new Option<TrainingMethod>("--method") { DefaultValueFactory = _ => TrainingMethod.Sft, Description = "sft: conversations (--data chat files); dpo: {prompt, chosen, rejected} pairs (--data dpo.jsonl)" };
        var beta = new Option<double>("--beta") { DefaultValueFactory = _ => 0.1, Description = "DPO: how close the policy stays to the base (higher: closer)" };
        var command = new Command("train", "Train a LoRA adapter on generated data; writes adapter.gguf (llama.cpp) and peft/ (PEFT)")
        {
            data, model, tokenizer, output, resume, rank, alpha, dropout, targets, epochs, maxSteps, lr, warmup, batch, accumulate, sequence, evalFraction, seed, checkpointEvery, reference, method, beta,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var configuration = AppConfiguration.Build();
            var teacherOptions = AppConfiguration.Teacher(configuration);
            var student = parse.GetValue(model);
            var studentIsFolder = student is not null && Directory.Exists(student);
            teacherOptions.ModelPath = studentIsFolder ? null : student;
            teacherOptions.Validate();
            var stderr = ConsoleExtensions.ForStandardError();
            using var loggers = Logging.Create(configuration);
            var resumeFolder = parse.GetValue(resume);
            var folder = Path.GetFullPath(resumeFolder ?? parse.GetValue(output)
                ?? Path.Combine("output", RunFolder.TimedName("train", TimeProvider.System)));
            var files = parse.GetValue(data) ?? [];
            foreach (var f in files)
                if (!File.Exists(f)) throw new UserErrorException($"training file '{f}' (--data) does not exist");
            // The student's tokenizer is read through llama.cpp (a vocabulary-only load).
            LocalTeacher.InitializeNative(teacherOptions, loggers);
            var path = studentIsFolder ? student! : LocalTeacher.ResolveModelPath(teacherOptions, stderr.Notice);
            var settings = new TrainSettings(files, path, folder,
                new LoraOptions
                {
                    Rank = parse.GetValue(rank), Alpha = parse.GetValue(alpha), Dropout = parse.GetValue(dropout),
                    Targets = parse.GetValue(targets)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                },
                new TrainerOptions
                {
                    Epochs = parse.GetValue(epochs), MaxSteps = parse.GetValue(maxSteps), LearningRate = parse.GetValue(lr), WarmupSteps = parse.GetValue(warmup),
                    BatchSize = parse.GetValue(batch), GradientAccumulation = parse.GetValue(accumulate), SequenceLength = parse.GetValue(sequence),
                    Seed = parse.GetValue(seed), CheckpointEvery = parse.GetValue(checkpointEvery),
                },
                parse.GetValue(evalFraction)) { TokenizerPath = parse.GetValue(tokenizer), ExportReference = parse.GetValue(reference), Method = parse.GetValue(method), Beta = parse.GetValue(beta) };
            var started = TimeProvider.System.GetTimestamp();
            // Training blocks for hours in native code: on its own thread, so Ctrl+C handling (which cancels the token
            // and waits for the checkpoint) keeps running.
            var result = await Task.Factory.StartNew(() => TrainingRun.Run(settings, resumeFolder is not null, m => stderr.WriteLine(m), r =>
            {
                var seconds = TimeProvider.System.GetElapsedTime(started).TotalSeconds;
                stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"step {r.Step}: loss {r.Loss:F4}, lr {r.LearningRate:G3}{(r.EvalLoss is { } e ? $", eval loss {e:F4}" : "")}{(r.Preference is { } p ? $", margin {p.Margin:F4}, accuracy {p.Accuracy:P0}" : "")}, {r.Tokens} trained tokens, {seconds:F1} s"));
            }, cancellationToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
            Pipeline.Report.LossCurves.WritePage(folder, $"Training: {Path.GetFileName(folder)}");
            if (!result.Completed)
            {
                stderr.MarkupLine(Markup.Escape($"stopped at step {result.Steps.LastOrDefault()?.Step ?? 0}: checkpoint saved; continue with --resume {folder}"));
                return SynthApp.ExitCancelled;
            }
            stderr.MarkupLine(Markup.Escape($"done: {result.Steps.Count} steps on {result.Device}; adapter for llama.cpp {result.GgufAdapter}, for PEFT {result.PeftFolder}; report {Path.Combine(folder, "report.html")}"));
            return SynthApp.ExitOk;
        });
        return command;
    }
}

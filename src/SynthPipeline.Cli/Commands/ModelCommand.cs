using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using SynthPipeline.Cli.Hosting;
using SynthPipeline.Llama;
using SynthPipeline.Llama.Gguf;
using SynthPipeline.Llama.Native;

namespace SynthPipeline.Cli.Commands;

/// <summary><c>synth model create-demo</c> and <c>synth model info</c>.</summary>
internal static class ModelCommand
{
    public static Command Create()
    {
        var command = new Command("model", "Create the demo model or inspect a GGUF file");
        command.Subcommands.Add(CreateDemo());
        command.Subcommands.Add(Info());
        command.Subcommands.Add(CreateRandom());
        command.Subcommands.Add(ExportHuggingFace());
        return command;
    }

    private static Command ExportHuggingFace()
    {
        var path = new Argument<FileInfo>("gguf") { Description = "A Llama or Qwen2 GGUF" };
        var folder = new Argument<DirectoryInfo>("folder") { Description = "Where to write config.json and model.safetensors (float32)" };
        var command = new Command("export-hf", "Write a GGUF's weights as a Hugging Face checkpoint (for a PyTorch + PEFT reference run)") { path, folder };
        command.SetAction(parse =>
        {
            var input = parse.GetValue(path)!;
            if (!input.Exists) throw new FileNotFoundException($"model file '{input.FullName}' does not exist", input.FullName);
            using var model = Training.LlamaTransformer.Load(GgufReader.Read(input.FullName));
            Training.HuggingFaceCheckpoint.Write(model, parse.GetValue(folder)!.FullName);
            Console.WriteLine($"wrote {parse.GetValue(folder)!.FullName}: {model.Config.Architecture}, {model.Config.BlockCount} blocks, float32");
            return 0;
        });
        return command;
    }

    private static Command CreateRandom()
    {
        var path = new Argument<FileInfo>("path") { Description = "Where to write the model" };
        var shape = new Option<string>("--shape") { Description = "llama-3.2-1b or llama-3.1-8b", DefaultValueFactory = _ => ModelShape.Llama32_1B.Name };
        var vocab = new Option<FileInfo>("--vocab-from") { Description = "A GGUF whose tokenizer is copied (e.g. llama.cpp's models/ggml-vocab-llama-bpe.gguf)", Required = true };
        var type = new Option<string>("--type") { Description = "Quantization: f16, q8_0, q4_0, q4_k_m, …", DefaultValueFactory = _ => "q4_k_m" };
        var command = new Command("create-random", "Write a random-weight model of a real shape for throughput measurements (its text is noise)") { path, shape, vocab, type };
        command.SetAction(parse =>
        {
            var output = parse.GetValue(path)!.FullName;
            var vocabFile = parse.GetValue(vocab)!;
            if (!vocabFile.Exists) throw new FileNotFoundException($"vocabulary GGUF '{vocabFile.FullName}' (--vocab-from) does not exist", vocabFile.FullName);
            var fileType = parse.GetValue(type)!;
            if (!ModelQuantizer.FileTypes.ContainsKey(fileType))
                throw new ArgumentException($"--type '{fileType}' is not one of {string.Join(", ", ModelQuantizer.FileTypes.Keys)}");
            var modelShape = ModelShape.Parse(parse.GetValue(shape)!);
            var f16 = string.Equals(fileType, "f16", StringComparison.OrdinalIgnoreCase) ? output : output + ".f16.tmp";
            try
            {
                RandomShapeModel.WriteF16(f16, modelShape, vocabFile.FullName);
                if (f16 != output)
                {
                    LlamaLibrary.Initialize(AppConfiguration.Teacher(AppConfiguration.Build()).NativeLibraryPath);
                    ModelQuantizer.Quantize(f16, output, fileType);
                }
            }
            finally
            {
                if (f16 != output && File.Exists(f16)) File.Delete(f16);
            }
            var gguf = GgufReader.Read(output);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"wrote {output}: {modelShape.Name}, {fileType}, {new FileInfo(output).Length:N0} bytes, {gguf.ParameterCount:N0} parameters (random weights: its text is noise)"));
            return 0;
        });
        return command;
    }

    private static Command CreateDemo()
    {
        var path = new Argument<FileInfo>("path") { Description = "Where to write the demo GGUF" };
        var seed = new Option<int>("--seed") { Description = "Seed of the random weights", DefaultValueFactory = _ => DemoModel.DefaultSeed };
        var command = new Command("create-demo", "Write the built-in demo model (tiny Llama, random weights, ChatML template)") { path, seed };
        command.SetAction(parse =>
        {
            var file = parse.GetValue(path)!;
            DemoModel.Write(file.FullName, parse.GetValue(seed));
            var gguf = GgufReader.Read(file.FullName);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"wrote {file.FullName}: {new FileInfo(file.FullName).Length:N0} bytes, {gguf.ParameterCount:N0} parameters, {gguf.Tensors.Count} tensors (random weights: its text is noise)"));
            return 0;
        });
        return command;
    }

    private static Command Info()
    {
        var path = new Argument<FileInfo>("gguf") { Description = "The GGUF file to describe" };
        var command = new Command("info", "Print a GGUF's metadata, tensor table, vocabulary, chat template and parameter count") { path };
        command.SetAction(parse =>
        {
            var file = parse.GetValue(path)!;
            var gguf = GgufReader.Read(file.FullName);
            var console = ConsoleExtensions.ForStandardOutput();
            console.MarkupLineInterpolated($"[bold]{file.FullName}[/]  GGUF v{gguf.Version}, alignment {gguf.Alignment}, architecture {gguf.Architecture ?? "none"}");

            var meta = new Table().AddColumns("key", "type", "value");
            foreach (var (key, value) in gguf.Metadata)
            {
                if (key == "tokenizer.chat_template") continue;
                var type = value.Type == GgufValueType.Array ? $"array<{value.AsArray().ElementType}>[{value.AsArray().Items.Count}]" : value.Type.ToString();
                meta.AddRow(Markup.Escape(key), Markup.Escape(type), Markup.Escape(Truncate(value.ToString(), 100)));
            }
            console.Write(meta);

            var tensors = new Table().AddColumns("tensor", "type", "shape", "elements", "bytes");
            foreach (var t in gguf.Tensors)
                tensors.AddRow(Markup.Escape(t.Name), t.Type.ToString(), string.Join(" x ", t.Dimensions), t.ElementCount.ToString("N0", CultureInfo.InvariantCulture), t.ByteSize.ToString("N0", CultureInfo.InvariantCulture));
            console.Write(tensors);

            var configuration = AppConfiguration.Build();
            var teacher = AppConfiguration.Teacher(configuration);
            using var loggers = Logging.Create(configuration);
            LlamaLibrary.Initialize(teacher.NativeLibraryPath, loggers.CreateLogger("SynthPipeline.Llama.Native"));
            using var vocabOnly = LlamaModel.Load(file.FullName, new LlamaModelLoadOptions { VocabOnly = true, GpuLayers = 0 });
            console.MarkupLineInterpolated($"vocabulary: {vocabOnly.Vocab.TokenCount:N0} tokens, type {vocabOnly.Vocab.TypeName}, BOS {vocabOnly.Vocab.Bos}, EOS {vocabOnly.Vocab.Eos}");
            console.MarkupLineInterpolated($"parameters: {gguf.ParameterCount:N0} ({Human(gguf.ParameterCount)})");
            console.MarkupLineInterpolated($"llama.cpp {LlamaLibrary.Version} from {LlamaLibrary.Directory}; GPU offload {(LlamaLibrary.SupportsGpuOffload ? "supported" : "not supported")}; devices: {string.Join(", ", LlamaLibrary.Devices)}");
            console.MarkupLine("chat template:");
            console.WriteLine(vocabOnly.ChatTemplate ?? "(none: ChatML is used)");
            return 0;
        });
        return command;
    }

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";

    private static string Human(ulong n) => n switch
    {
        >= 1_000_000_000 => string.Create(CultureInfo.InvariantCulture, $"{n / 1e9:F2}B"),
        >= 1_000_000 => string.Create(CultureInfo.InvariantCulture, $"{n / 1e6:F2}M"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{n / 1e3:F1}K"),
    };
}

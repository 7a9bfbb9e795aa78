using System.CommandLine;
using System.Globalization;
using SynthPipeline.Cli.Hosting;
using SynthPipeline.Core;
using SynthPipeline.Llama;
using SynthPipeline.Llama.Gguf;
using SynthPipeline.Llama.Native;

namespace SynthPipeline.Cli.Commands;

/// <summary><c>synth model create-random</c>: a random-weight model of a real shape, for throughput.</summary>
internal static class ModelCreateRandomCommand
{
    public static Command Create()
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
            if (!vocabFile.Exists) throw new UserErrorException($"vocabulary GGUF '{vocabFile.FullName}' (--vocab-from) does not exist");
            var fileType = parse.GetValue(type)!;
            if (!ModelQuantizer.FileTypes.ContainsKey(fileType))
                throw new UserErrorException($"--type '{fileType}' is not one of {string.Join(", ", ModelQuantizer.FileTypes.Keys)}");
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
}

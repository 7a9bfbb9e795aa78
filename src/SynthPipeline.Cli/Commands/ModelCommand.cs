using System.CommandLine;
using System.Globalization;
using SynthPipeline.Core;
using SynthPipeline.Llama.Gguf;

namespace SynthPipeline.Cli.Commands;

/// <summary><c>synth model</c>: create-demo and export-hf here; info and create-random in their own files.</summary>
internal static class ModelCommand
{
    public static Command Create()
    {
        var command = new Command("model", "Create the demo model or inspect a GGUF file");
        command.Subcommands.Add(CreateDemo());
        command.Subcommands.Add(ModelInfoCommand.Create());
        command.Subcommands.Add(ModelCreateRandomCommand.Create());
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
            if (!input.Exists) throw new UserErrorException($"model file '{input.FullName}' does not exist");
            using var model = Training.LlamaTransformer.Load(GgufReader.Read(input.FullName));
            Training.HuggingFaceCheckpoint.Write(model, parse.GetValue(folder)!.FullName);
            Console.WriteLine($"wrote {parse.GetValue(folder)!.FullName}: {model.Config.Architecture}, {model.Config.BlockCount} blocks, float32");
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
}

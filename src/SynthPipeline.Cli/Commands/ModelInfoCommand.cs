using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using SynthPipeline.Cli.Hosting;
using SynthPipeline.Llama;
using SynthPipeline.Llama.Gguf;
using SynthPipeline.Llama.Native;

namespace SynthPipeline.Cli.Commands;

/// <summary><c>synth model info</c>: metadata, tensors, vocabulary, llama.cpp build and devices of a GGUF.</summary>
internal static class ModelInfoCommand
{
    public static Command Create()
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
            console.MarkupLineInterpolated($"llama.cpp: {LlamaLibrary.Version} from {LlamaLibrary.Directory}; GPU offload {(LlamaLibrary.SupportsGpuOffload ? "supported" : "not supported")}; devices: {string.Join(", ", LlamaLibrary.Devices)}");
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

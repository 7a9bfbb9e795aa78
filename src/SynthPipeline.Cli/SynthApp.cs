using System.CommandLine;
using SynthPipeline.Cli.Commands;
using SynthPipeline.Llama;
using SynthPipeline.Llama.Gguf;
using SynthPipeline.Llama.Teacher;
using SynthPipeline.Options;

namespace SynthPipeline.Cli;

/// <summary>The <c>synth</c> command line: builds the command tree and maps failures to messages and exit codes.</summary>
public static class SynthApp
{
    public const int ExitOk = 0;
    public const int ExitFailure = 1;
    public const int ExitBadConfiguration = 2;
    public const int ExitCancelled = 130;

    public static RootCommand CreateRoot()
    {
        var root = new RootCommand("SynthPipeline: make LLM fine-tuning data with a local GGUF teacher, and train a LoRA adapter on it");
        root.Subcommands.Add(GenerateCommand.Create());
        root.Subcommands.Add(AugmentCommand.Create());
        root.Subcommands.Add(TrainCommand.Create());
        root.Subcommands.Add(ChatCommand.Create());
        root.Subcommands.Add(ModelCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        return root;
    }

    public static async Task<int> RunAsync(string[] args)
    {
        try
        {
            // Our own handler maps known failures to one clear line and an exit code, instead of a stack trace.
            return await CreateRoot().Parse(args).InvokeAsync(new InvocationConfiguration
            {
                EnableDefaultExceptionHandler = false,
                // Ctrl+C cancels the token and the commands save their state before exiting with 130; System.CommandLine
                // must not cut that short after its default 2 s (rendering the loss plot alone can take longer).
                // (null would switch its Ctrl+C handling off altogether.)
                ProcessTerminationTimeout = TimeSpan.FromMinutes(10),
            }).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await Console.Error.WriteLineAsync("cancelled").ConfigureAwait(false);
            return ExitCancelled;
        }
        catch (OptionsValidationError e)
        {
            await Console.Error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            return ExitBadConfiguration;
        }
        catch (Exception e) when (e is GgufFormatException or FileNotFoundException or LlamaModelException or LlamaNativeLibraryException
                                       or InvalidGrammarException or PromptTooLongException or ArgumentException
                                       or Pipeline.Seeds.SeedFormatException or InvalidOperationException
                                       or Training.Data.TrainingDataException or NotSupportedException or InvalidDataException or DirectoryNotFoundException)
        {
            await Console.Error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            return ExitFailure;
        }
    }
}

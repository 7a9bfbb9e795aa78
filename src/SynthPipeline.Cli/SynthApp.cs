using System.CommandLine;
using SynthPipeline.Cli.Commands;
using SynthPipeline.Core;
using SynthPipeline.Core.Options;

namespace SynthPipeline.Cli;

/// <summary>The <c>synth</c> command line: builds the command tree and maps failures to messages and exit codes.</summary>
public static class SynthApp
{
    public const int ExitOk = 0;
    public const int ExitFailure = 1;
    public const int ExitBadConfiguration = 2;
    public const int ExitCancelled = 130;

    /// <summary>An unexpected exception: a bug (EX_SOFTWARE).</summary>
    public const int ExitBug = 70;

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
            // Our own handler: a user error is one clear line and an exit code; anything else keeps its stack trace.
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
        catch (UserErrorException e)
        {
            await Console.Error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            return ExitFailure;
        }
#pragma warning disable CA1031 // the last resort: anything else is a bug, shown whole
        catch (Exception e)
#pragma warning restore CA1031
        {
            await Console.Error.WriteLineAsync($"error: {e}").ConfigureAwait(false);
            await Console.Error.WriteLineAsync("This is a bug in synth, not in your input or settings; please report it with the lines above.").ConfigureAwait(false);
            return ExitBug;
        }
    }
}

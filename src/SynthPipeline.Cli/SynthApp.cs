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
        root.Subcommands.Add(RunCommand.Create());
        root.Subcommands.Add(GenerateCommand.Create());
        root.Subcommands.Add(AugmentCommand.Create());
        root.Subcommands.Add(TrainCommand.Create());
        root.Subcommands.Add(EvalCommand.Create());
        root.Subcommands.Add(LoopCommand.Create());
        root.Subcommands.Add(ChatCommand.Create());
        root.Subcommands.Add(ModelCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(ServeCommand.Create());
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
#pragma warning disable CA1031 // every failure ends here: a user error is one line, anything else a bug with its stack trace
        catch (Exception e)
#pragma warning restore CA1031
        {
            return Report(e, Console.Error);
        }
    }

    /// <summary>Prints a failure and returns the exit code: 130 cancelled, 2 bad configuration, 1 a user error (one line), 70 a bug (stack trace).</summary>
    internal static int Report(Exception failure, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(failure);
        ArgumentNullException.ThrowIfNull(stderr);
        switch (failure)
        {
            case OperationCanceledException:
                stderr.WriteLine("cancelled");
                return ExitCancelled;
            case OptionsValidationError:
                stderr.WriteLine($"error: {failure.Message}");
                return ExitBadConfiguration;
            case UserErrorException:
            // A stage that stopped on the user's input (the teacher refusing a prompt for its settings) is no bug.
            case SynthPipeline.Pipeline.Graph.GraphFaultedException { InnerException: UserErrorException }:
                stderr.WriteLine($"error: {failure.Message}");
                return ExitFailure;
            default:
                stderr.WriteLine($"error: {failure}");
                stderr.WriteLine("This is a bug in synth, not in your input or settings; please report it with the lines above.");
                return ExitBug;
        }
    }
}

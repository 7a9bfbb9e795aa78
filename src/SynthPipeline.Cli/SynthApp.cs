using System.CommandLine;
using System.Runtime.InteropServices;
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
        // Ctrl+C (and SIGTERM) cancel the commands' token; they save their state and exit with 130. The handler is ours
        // and in place before any command runs: System.CommandLine registers its own only once the command has run up
        // to its first real wait, and synth serve can load its model and print its address before that, so a Ctrl+C
        // answering the address line at once met no handler and killed the process without its graceful stop.
        using var termination = new CancellationTokenSource();
        void Cancel(PosixSignalContext context)
        {
            context.Cancel = true;
            termination.Cancel();
        }
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Cancel);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Cancel);
        try
        {
            var parse = CreateRoot().Parse(args);
            // Bare "synth" keeps System.CommandLine's answer: the list of commands.
            if (parse.Errors.Count > 0 && args.Length > 0) return Hosting.UsageErrors.Report(parse, Console.Error);
            // Our own handler: a user error is one clear line and an exit code; anything else keeps its stack trace.
            return await parse.InvokeAsync(new InvocationConfiguration
            {
                EnableDefaultExceptionHandler = false,
                // Off: the registrations above own termination, and no timeout cuts a command's save short.
                ProcessTerminationTimeout = null,
            }, termination.Token).ConfigureAwait(false);
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

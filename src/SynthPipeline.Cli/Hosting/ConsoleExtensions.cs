using Spectre.Console;

namespace SynthPipeline.Cli.Hosting;

/// <summary>Spectre consoles bound to stdout/stderr: colour on a terminal, plain unwrapped lines when redirected.</summary>
internal static class ConsoleExtensions
{
    public static IAnsiConsole ForStandardError() => Create(Console.Error, Console.IsErrorRedirected);

    public static IAnsiConsole ForStandardOutput() => Create(Console.Out, Console.IsOutputRedirected);

    private static IAnsiConsole Create(TextWriter writer, bool redirected)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = redirected ? AnsiSupport.No : AnsiSupport.Detect,
            ColorSystem = redirected ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
            Interactive = redirected ? InteractionSupport.No : InteractionSupport.Detect,
        });
        // Log files and CI logs should get whole lines, not lines wrapped at an imaginary 80 columns.
        if (redirected) console.Profile.Width = 4096;
        return console;
    }
}

/// <summary>Plain notices on a Spectre console.</summary>
internal static class NoticeExtensions
{
    /// <summary>A yellow line, the text printed as it is (no markup).</summary>
    public static void Notice(this IAnsiConsole console, string text) => console.MarkupLine("[yellow]" + Markup.Escape(text) + "[/]");

    /// <summary>A problem in the input that the run works around; the line starts "warning:".</summary>
    public static void Warning(this IAnsiConsole console, string text) => console.MarkupLine("[yellow]warning: " + Markup.Escape(text) + "[/]");
}

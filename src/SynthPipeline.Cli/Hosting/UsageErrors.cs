using System.CommandLine;
using System.Text.RegularExpressions;

namespace SynthPipeline.Cli.Hosting;

/// <summary>
/// Command-line mistakes (an unknown flag, a value of the wrong type) as one line each that names the flag and what it
/// takes, then where the full help is, instead of System.CommandLine's CLR type names followed by the whole help text.
/// </summary>
internal static partial class UsageErrors
{
    public static int Report(ParseResult parse, TextWriter stderr)
    {
        foreach (var error in parse.Errors)
            stderr.WriteLine("error: " + Friendly(error.Message));
        var path = new List<string>();
        for (var c = parse.CommandResult; c is not null; c = c.Parent as System.CommandLine.Parsing.CommandResult)
            path.Insert(0, c.Command is RootCommand ? "synth" : c.Command.Name);
        stderr.WriteLine($"see '{string.Join(' ', path)} --help' for what it takes");
        return SynthApp.ExitBadConfiguration;
    }

    /// <summary><paramref name="message"/> with a CLR type name put as what a user types.</summary>
    internal static string Friendly(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var m = ExpectedType().Match(message);
        if (!m.Success) return message.ReplaceLineEndings(" ").TrimEnd();
        var type = m.Groups["type"].Value;
        var takes = type switch
        {
            "System.Int32" or "System.Int64" or "System.UInt32" => "a whole number",
            "System.Single" or "System.Double" => "a number",
            "System.Boolean" => "true or false",
            _ => Enum(type) is { } names ? "one of " + string.Join(", ", names) : null,
        };
        // What follows the type is a "did you mean" list, which the full list of an enum's values replaces.
        return takes is null ? message.ReplaceLineEndings(" ").TrimEnd() : message[..m.Index] + "as " + takes + ".";
    }

    private static string[]? Enum(string fullName)
    {
        var type = AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetType(fullName, throwOnError: false)).FirstOrDefault(t => t is not null);
        return type is { IsEnum: true } ? System.Enum.GetNames(type) : null;
    }

    [GeneratedRegex(@"as expected type '(?:System\.Nullable`1\[)?(?<type>[\w.+]+)\]?'.*", RegexOptions.Singleline)]
    private static partial Regex ExpectedType();
}

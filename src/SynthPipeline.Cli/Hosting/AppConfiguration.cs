using Microsoft.Extensions.Configuration;
using SynthPipeline.Core.Options;

namespace SynthPipeline.Cli.Hosting;

/// <summary>
/// Configuration layers, later wins: appsettings.json next to the app, appsettings.json in the working directory,
/// environment variables (<c>Teacher__ModelPath</c>), then command-line flags applied by each command.
/// </summary>
internal static class AppConfiguration
{
    public static IConfiguration Build()
    {
        var shipped = Path.Combine(AppContext.BaseDirectory, "appsettings.json");
        var builder = new ConfigurationBuilder().AddJsonFile(shipped, optional: true);
        var local = Path.Combine(Environment.CurrentDirectory, "appsettings.json");
        if (!string.Equals(Path.GetFullPath(local), shipped, StringComparison.Ordinal))
            builder.AddJsonFile(local, optional: true);
        try
        {
            return builder.AddEnvironmentVariables().Build();
        }
        catch (InvalidDataException e)
        {
            throw new OptionsValidationError([Unreadable(e, File.Exists(local) ? local : shipped)]);
        }
    }

    /// <summary>"file:line: what is wrong", from the configuration loader's wrapped JSON error.</summary>
    private static string Unreadable(InvalidDataException failure, string fallbackPath)
    {
        // The loader says "Failed to load configuration from file '…'": that names the file at fault.
        var path = System.Text.RegularExpressions.Regex.Match(failure.Message, "file '([^']+)'") is { Success: true } m ? m.Groups[1].Value : fallbackPath;
        for (Exception? e = failure; e is not null; e = e.InnerException)
        {
            if (e is System.Text.Json.JsonException { LineNumber: { } line } json)
            {
                return $"{path}:{line + 1}: not valid JSON ({Core.Text.JsonErrorText.Of(json)})";
            }
        }
        return $"{path}: {failure.InnerException?.Message ?? failure.Message}";
    }

    /// <summary>Binds a section; a value of the wrong type is reported with its key and the value's problem.</summary>
    public static T Bind<T>(IConfiguration configuration, string section) where T : new()
    {
        var options = new T();
        try
        {
            configuration.GetSection(section).Bind(options);
        }
        catch (InvalidOperationException e)
        {
            // The binder's own message names the key ("… at 'Teacher:TopCandidates' to type …"); the inner one, the value's problem.
            var key = System.Text.RegularExpressions.Regex.Match(e.Message, "at '([^']+)'") is { Success: true } m ? m.Groups[1].Value : section;
            throw new OptionsValidationError([$"{key}: {e.InnerException?.Message ?? e.Message}"]);
        }
        return options;
    }

    /// <summary>Binds the Teacher section.</summary>
    public static TeacherOptions Teacher(IConfiguration configuration) => Bind<TeacherOptions>(configuration, TeacherOptions.Section);
}

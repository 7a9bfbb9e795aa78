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
        var builder = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true);
        var local = Path.Combine(Environment.CurrentDirectory, "appsettings.json");
        if (!string.Equals(Path.GetFullPath(local), Path.Combine(AppContext.BaseDirectory, "appsettings.json"), StringComparison.Ordinal))
            builder.AddJsonFile(local, optional: true);
        return builder.AddEnvironmentVariables().Build();
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

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace SynthPipeline.Cli.Hosting;

/// <summary>Console logging to stderr, filtered by the Logging section (warnings and errors only by default).</summary>
internal static class Logging
{
    public static ILoggerFactory Create(IConfiguration configuration) => LoggerFactory.Create(b => b
        .AddConfiguration(configuration.GetSection("Logging"))
        .AddSimpleConsole(o => o.SingleLine = true)
        .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace));
}

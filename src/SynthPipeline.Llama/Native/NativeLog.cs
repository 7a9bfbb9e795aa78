using System.Collections.Concurrent;
using System.Text;
using LLama.Native;
using Microsoft.Extensions.Logging;

namespace SynthPipeline.Llama.Native;

/// <summary>
/// Routes llama.cpp/ggml log output to an <see cref="ILogger"/> (quiet unless the logger enables it) and keeps the
/// last error and warning lines, so failures such as a NULL model can be explained in the exception message.
/// </summary>
internal static partial class NativeLog
{
    private const int KeptLines = 16;

    private static readonly ConcurrentQueue<string> RecentProblems = new();
    private static readonly Lock LineGate = new();
    private static readonly StringBuilder PendingLine = new();
    private static LLamaLogLevel _pendingLevel = LLamaLogLevel.Info;

    internal static ILogger? Logger { get; set; }

    /// <summary>Set on a thread while it decodes: true once that decode has been asked to abort.</summary>
    [ThreadStatic]
    internal static Func<bool>? DecodeAborted;

    /// <summary>A warning from SynthPipeline itself about the native setup.</summary>
    internal static void Warn(string message)
    {
        if (Logger is { } logger) LogSetup(logger, message);
    }

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "{Message}")]
    private static partial void LogSetup(ILogger logger, string message);

    /// <summary>Error and warning lines logged since the last call; used to explain a failed native call.</summary>
    internal static string TakeRecentProblems()
    {
        var lines = new List<string>();
        while (RecentProblems.TryDequeue(out var line)) lines.Add(line);
        return string.Join(Environment.NewLine, lines);
    }

    internal static void ClearRecentProblems() => RecentProblems.Clear();

    /// <summary>LLamaSharp's log callback: lines may arrive in pieces (<see cref="LLamaLogLevel.Continue"/>), so they are joined first.</summary>
    internal static void OnLog(LLamaLogLevel level, string text)
    {
        lock (LineGate)
        {
            if (level != LLamaLogLevel.Continue) _pendingLevel = level;
            PendingLine.Append(text);
            if (!text.EndsWith('\n')) return;
            var line = PendingLine.ToString().TrimEnd('\n');
            PendingLine.Clear();
            Emit(_pendingLevel, line);
        }
    }

    private static void Emit(LLamaLogLevel level, string line)
    {
        if (level is LLamaLogLevel.Warning or LLamaLogLevel.Error)
        {
            RecentProblems.Enqueue(line);
            while (RecentProblems.Count > KeptLines) RecentProblems.TryDequeue(out _);
        }
        var logger = Logger;
        if (logger is null) return;
        var mapped = level switch
        {
            // A decode stopped by Ctrl+C or disposal reports the abort as a failed compute: not an error then.
            LLamaLogLevel.Error when DecodeAborted?.Invoke() == true => LogLevel.Debug,
            LLamaLogLevel.Error => LogLevel.Error,
            LLamaLogLevel.Warning => LogLevel.Information,
            LLamaLogLevel.Info => LogLevel.Debug,
            LLamaLogLevel.Debug => LogLevel.Trace,
            _ => LogLevel.Debug,
        };
        LogNative(logger, mapped, line);
    }

    [LoggerMessage(EventId = 1, Message = "llama.cpp: {Line}")]
    private static partial void LogNative(ILogger logger, LogLevel level, string line);
}

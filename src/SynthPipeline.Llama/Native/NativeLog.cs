using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging;

namespace SynthPipeline.Llama.Native;

/// <summary>
/// Routes llama.cpp/ggml log output to an <see cref="ILogger"/> (quiet unless the logger enables it) and keeps the
/// last error and warning lines, so failures such as a NULL model can be explained in the exception message.
/// </summary>
internal static unsafe partial class NativeLog
{
    private const int GgmlLevelDebug = 1, GgmlLevelInfo = 2, GgmlLevelWarn = 3, GgmlLevelError = 4, GgmlLevelCont = 5;
    private const int KeptLines = 16;

    private static readonly ConcurrentQueue<string> RecentProblems = new();
    private static readonly Lock LineGate = new();
    private static readonly StringBuilder PendingLine = new();
    private static int _pendingLevel = GgmlLevelInfo;

    internal static ILogger? Logger { get; set; }

    internal static void Install() => NativeMethods.LlamaLogSet(&OnLog, 0);

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

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnLog(int level, byte* text, nint userData)
    {
        var s = Marshal.PtrToStringUTF8((nint)text) ?? string.Empty;
        lock (LineGate)
        {
            if (level != GgmlLevelCont) _pendingLevel = level;
            PendingLine.Append(s);
            if (!s.EndsWith('\n')) return;
            var line = PendingLine.ToString().TrimEnd('\n');
            PendingLine.Clear();
            Emit(_pendingLevel, line);
        }
    }

    private static void Emit(int level, string line)
    {
        if (level >= GgmlLevelWarn)
        {
            RecentProblems.Enqueue(line);
            while (RecentProblems.Count > KeptLines) RecentProblems.TryDequeue(out _);
        }
        var logger = Logger;
        if (logger is null) return;
        var mapped = level switch
        {
            GgmlLevelError => LogLevel.Error,
            GgmlLevelWarn => LogLevel.Information,
            GgmlLevelInfo => LogLevel.Debug,
            GgmlLevelDebug => LogLevel.Trace,
            _ => LogLevel.Debug,
        };
        LogNative(logger, mapped, line);
    }

    [LoggerMessage(EventId = 1, Message = "llama.cpp: {Line}")]
    private static partial void LogNative(ILogger logger, LogLevel level, string line);
}

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SynthPipeline.Cli.Tests;

/// <summary>
/// Gives the synth processes these tests start the Ctrl+C a user's terminal gives. A shell starts a background job
/// (<c>dotnet test … &amp;</c>, <c>nohup</c>, some CI runners) with SIGINT ignored, .NET keeps an ignored SIGINT ignored,
/// and exec passes "ignored" on to every child: the Ctrl+C tests would then see synth run to its end and exit 0.
/// </summary>
internal static partial class InheritedSignals
{
    public const int SigInt = 2;
    private const nint Default = 0;
    private const nint Ignored = 1;

    [ModuleInitializer]
    internal static void RestoreInterrupt()
    {
        if (!OperatingSystem.IsLinux()) return;
        // Only an ignored SIGINT is changed: a handler the runtime installed stays (it is not inherited anyway).
        if (Disposition(SigInt) == Ignored) Set(SigInt, Default);
    }

    /// <summary>The handler field of <paramref name="signal"/>'s current action: 0 default, 1 ignored, else a handler.</summary>
    public static nint Disposition(int signal)
    {
        // struct sigaction (glibc, x86-64 and AArch64) starts with the handler; 256 bytes hold the whole struct.
        var action = new byte[256];
        if (SigAction(signal, 0, action) != 0) throw new InvalidOperationException($"sigaction({signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        return MemoryMarshal.Read<nint>(action);
    }

    /// <summary>Sets <paramref name="signal"/> to the default action (0) or ignored (1).</summary>
    public static void Set(int signal, nint disposition)
    {
        if (SetSignal(signal, disposition) == -1) throw new InvalidOperationException($"signal({signal}) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    [LibraryImport("libc", EntryPoint = "sigaction", SetLastError = true)]
    private static partial int SigAction(int signal, nint action, [Out] byte[] old);

    [LibraryImport("libc", EntryPoint = "signal", SetLastError = true)]
    private static partial nint SetSignal(int signal, nint handler);
}

namespace SynthPipeline.Cli.Tests;

/// <summary>The signal calls <see cref="InheritedSignals"/> marshals itself read and set what libc holds.</summary>
public sealed class InheritedSignalsTests
{
    // SIGRTMIN + 8: a real-time signal neither .NET nor the test host uses.
    private const int Unused = 42;

    [Fact]
    public void Disposition_AfterSet_ReadsIgnoredThenDefault()
    {
        if (!OperatingSystem.IsLinux()) return;
        try
        {
            InheritedSignals.Set(Unused, 1);
            Assert.Equal(1, InheritedSignals.Disposition(Unused));
            InheritedSignals.Set(Unused, 0);
            Assert.Equal(0, InheritedSignals.Disposition(Unused));
        }
        finally
        {
            InheritedSignals.Set(Unused, 0);
        }
    }

    [Fact]
    public void RestoreInterrupt_RanBeforeTheTests_LeavesSigintNotIgnored() =>
        Assert.NotEqual(1, InheritedSignals.Disposition(InheritedSignals.SigInt));
}

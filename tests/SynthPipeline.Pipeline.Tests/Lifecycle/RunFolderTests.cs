using SynthPipeline.Core;
using SynthPipeline.Pipeline.State;

namespace SynthPipeline.Pipeline.Tests.Lifecycle;

public sealed class RunFolderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("synth-run-folder-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private RunFolder Create(string name, Action<RunStore>? initialize = null) =>
        RunFolder.Create(_dir, name, RunKind.Generate, "Generate:Output", initialize ?? (s => s.SetMeta("settings", "{}")), TimeProvider.System);

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    [Fact]
    public void Create_NoName_IsNamedByTheProvidersUtcTime()
    {
        var time = new FixedTime(new DateTimeOffset(2026, 12, 3, 23, 4, 5, TimeSpan.FromHours(-5)));
        using var run = RunFolder.Create(_dir, null, RunKind.Generate, "Generate:Output", s => s.SetMeta("settings", "{}"), time);
        Assert.Equal(Path.Combine(_dir, "run-20261204-040405"), run.Path);
        Assert.Equal("eval-20261204-040405", RunFolder.TimedName("eval", time));
    }

    [Fact]
    public void Create_ThenResume_OpensTheSameStoreWithNoPreparationLeft()
    {
        using (var run = Create("r"))
        {
            Assert.False(run.IsResume);
            Assert.Equal(Path.Combine(_dir, "r"), run.Path);
            run.Store.SetMeta("marker", "1");
        }
        using var resumed = RunFolder.Resume(_dir, "r", RunKind.Generate);
        Assert.True(resumed.IsResume);
        Assert.Equal("1", resumed.Store.GetMeta("marker"));
        Assert.Equal([Path.Combine(_dir, "r")], Directory.GetDirectories(_dir));
    }

    [Fact]
    public void Create_InitializeFails_LeavesNoRunAndTheSameNameStartsAgain()
    {
        Assert.Throws<IOException>(() => Create("r", _ => throw new IOException("disk full")));
        Assert.False(Directory.Exists(Path.Combine(_dir, "r")));
        var e = Assert.Throws<UserErrorException>(() => RunFolder.Resume(_dir, "r", RunKind.Generate));
        Assert.Contains("stopped before it started", e.Message, StringComparison.Ordinal);
        Assert.Contains("--run-name r", e.Message, StringComparison.Ordinal);

        using var run = Create("r");
        Assert.Equal("{}", run.Store.GetMeta("settings"));
        Assert.Equal([Path.Combine(_dir, "r")], Directory.GetDirectories(_dir));
    }

    [Fact]
    public void Create_NameHoldsARun_IsRefusedSuggestingResume()
    {
        Create("r").Dispose();
        var e = Assert.Throws<UserErrorException>(() => Create("r"));
        Assert.Contains("--resume r", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_NameHoldsOtherFiles_IsRefusedAndTheFilesStay()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "r"));
        File.WriteAllText(Path.Combine(_dir, "r", "notes.txt"), "mine");
        var e = Assert.Throws<UserErrorException>(() => Create("r"));
        Assert.Contains("is not a run folder", e.Message, StringComparison.Ordinal);
        Assert.Equal("mine", File.ReadAllText(Path.Combine(_dir, "r", "notes.txt")));
    }

    [Fact]
    public void Create_PreparationOfAnotherLiveProcess_IsRefusedAsInUse()
    {
        var staging = Path.Combine(_dir, ".r.preparing");
        Directory.CreateDirectory(staging);
        using var held = RunLock.Acquire(staging);
        var e = Assert.Throws<UserErrorException>(() => Create("r"));
        Assert.Contains("in use by another synth process", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resume_RunOfAnotherKind_IsRefusedNamingBoth()
    {
        Create("r").Dispose();
        var e = Assert.Throws<UserErrorException>(() => RunFolder.Resume(_dir, "r", RunKind.Augment));
        Assert.Contains("is a generate run; continue it with synth generate --resume", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resume_HeldByAnotherRun_IsRefused()
    {
        using var first = Create("r");
        var e = Assert.Throws<UserErrorException>(() => RunFolder.Resume(_dir, "r", RunKind.Generate));
        Assert.Contains("in use by another synth process", e.Message, StringComparison.Ordinal);
    }
}

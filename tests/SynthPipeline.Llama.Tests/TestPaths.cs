using System.Reflection;

namespace SynthPipeline.Llama.Tests;

/// <summary>Where the build put the llama.cpp source bundle (headers, real vocab GGUFs) for these tests.</summary>
internal static class TestPaths
{
    public static string NativeCache { get; } = typeof(TestPaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "SynthNativeCache").Value!;

    public static string LlamaSource => Path.Combine(NativeCache, "llama-v0.5.0", "src");

    public static string TempDirectory(string name)
    {
        var dir = Path.Combine(Path.GetTempPath(), "synth-tests", $"{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }
}

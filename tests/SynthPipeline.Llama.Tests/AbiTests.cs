using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using SynthPipeline.Llama.Native;

namespace SynthPipeline.Llama.Tests;

/// <summary>
/// LLamaSharp marshals llama.cpp's structs; the one SynthPipeline marshals itself, ggml_threadpool_params (for the
/// persistent CPU threadpool LLamaSharp does not bind), must match the C layout. abi_probe.c prints sizeof/offsetof
/// from the header and its output is recorded in abi_expected.txt; a second test rebuilds the probe to keep the record
/// honest, and a third lets the loaded library itself fill the struct, to catch a library whose layout differs.
/// </summary>
[Collection(DemoModelCollection.Name)]
public sealed class AbiTests(DemoModelFixture fixture)
{
    private static readonly (string C, Type Managed)[] Structs = [("ggml_threadpool_params", typeof(GgmlThreadpoolParams))];

    [Fact]
    public void MarshalLayout_EveryStruct_MatchesTheHeadersSizesAndOffsets()
    {
        var expected = Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Abi", "abi_expected.txt")));
        var mismatches = new List<string>();
        foreach (var (c, managed) in Structs)
        {
            Compare(mismatches, c, expected[c], Marshal.SizeOf(managed));
            var cFields = expected.Keys.Where(k => k.StartsWith(c + ".", StringComparison.Ordinal)).ToList();
            Assert.NotEmpty(cFields);
            var managedFields = managed.GetFields().Select(f => f.Name).ToHashSet();
            foreach (var key in cFields)
            {
                var field = Pascal(key[(c.Length + 1)..]);
                if (!managedFields.Remove(field))
                {
                    mismatches.Add($"{key}: no field {managed.Name}.{field}");
                    continue;
                }
                Compare(mismatches, key, expected[key], (int)Marshal.OffsetOf(managed, field));
            }
            mismatches.AddRange(managedFields.Select(f => $"{managed.Name}.{f} has no counterpart in {c}"));
        }
        Assert.Empty(mismatches);
    }

    [Fact]
    public unsafe void ThreadpoolParams_FilledByTheLoadedLibrary_StayInsideTheStructWithEveryFieldWhereExpected()
    {
        Assert.NotNull(fixture.Model);
        var size = sizeof(GgmlThreadpoolParams);
        const int guard = 64;
        var buffer = new byte[size + guard];
        buffer.AsSpan().Fill(0xCD);
        fixed (byte* p = buffer) NativeMethods.GgmlThreadpoolParamsInit((GgmlThreadpoolParams*)p, 7);
        Assert.All(buffer[size..], b => Assert.Equal(0xCD, b));
        var filled = MemoryMarshal.Read<GgmlThreadpoolParams>(buffer);
        // ggml's defaults: no CPU mask, normal priority, polling level 50, not strict, not paused.
        Assert.Equal((7, 0, 50u, (byte)0, (byte)0), (filled.NThreads, filled.Prio, filled.Poll, filled.StrictCpu, filled.Paused));
    }

    [Fact]
    public void RecordedLayout_ProbeBuiltAgainstRealHeader_IsCurrent()
    {
        var include = Path.Combine(TestPaths.LlamaSource, "include");
        Assert.True(File.Exists(Path.Combine(TestPaths.LlamaSource, "ggml", "include", "ggml.h")),
            $"the llama.cpp source bundle was not fetched to {include}; the test build runs build/fetch-native.sh src (needs npm and git)");
        var exe = Path.Combine(TestPaths.TempDirectory("abi"), "abi_probe");
        Run("gcc", $"-std=c11 -I\"{include}\" -I\"{Path.Combine(TestPaths.LlamaSource, "ggml", "include")}\" \"{Path.Combine(AppContext.BaseDirectory, "Abi", "abi_probe.c")}\" -o \"{exe}\"");
        var probed = Parse(Run(exe, string.Empty));
        var recorded = Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Abi", "abi_expected.txt")));
        Assert.Equal(recorded.OrderBy(k => k.Key), probed.OrderBy(k => k.Key));
    }

    private static void Compare(List<string> mismatches, string what, int expected, int actual)
    {
        if (expected != actual) mismatches.Add($"{what}: header says {expected}, managed says {actual}");
    }

    private static string Pascal(string snake) =>
        string.Concat(snake.Split('_').Select(p => char.ToUpperInvariant(p[0]) + p[1..]));

    private static Dictionary<string, int> Parse(string text) => text
        .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Select(l => l.Split(' '))
        .ToDictionary(p => p[0], p => int.Parse(p[1], CultureInfo.InvariantCulture));

    private static string Run(string file, string args)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = p.StandardOutput.ReadToEnd();
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{file} {args} failed: {error}");
        return output;
    }
}

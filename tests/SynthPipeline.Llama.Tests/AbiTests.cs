using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using SynthPipeline.Llama.Native;

namespace SynthPipeline.Llama.Tests;

/// <summary>
/// The marshalled structs must match llama.cpp v0.5.0's llama.h exactly. abi_probe.c prints sizeof/offsetof from
/// the real header; its output is recorded in abi_expected.txt, and a second test rebuilds the probe to keep the
/// record honest.
/// </summary>
public sealed class AbiTests
{
    private static readonly (string C, Type Managed)[] Structs =
    [
        ("llama_model_params", typeof(LlamaModelParams)),
        ("llama_context_params", typeof(LlamaContextParams)),
        ("llama_batch", typeof(LlamaBatchNative)),
        ("llama_token_data", typeof(LlamaTokenData)),
        ("llama_token_data_array", typeof(LlamaTokenDataArray)),
        ("llama_chat_message", typeof(LlamaChatMessageNative)),
        ("llama_sampler_chain_params", typeof(LlamaSamplerChainParams)),
        ("llama_sampler_seq_config", typeof(LlamaSamplerSeqConfig)),
        ("llama_logit_bias", typeof(LlamaLogitBias)),
        ("llama_model_quantize_params", typeof(LlamaModelQuantizeParams)),
        ("ggml_threadpool_params", typeof(GgmlThreadpoolParams)),
    ];

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
    public void RecordedLayout_ProbeBuiltAgainstRealHeader_IsCurrent()
    {
        var include = Path.Combine(TestPaths.LlamaSource, "include");
        Assert.True(File.Exists(Path.Combine(include, "llama.h")),
            $"llama.h of v0.5.0 was not fetched to {include}; `dotnet build` runs build/fetch-native.sh src (needs npm and git)");
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

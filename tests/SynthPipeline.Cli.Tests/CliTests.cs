namespace SynthPipeline.Cli.Tests;

public sealed class CliTests
{
    private static Dictionary<string, string> Env(params (string Key, string Value)[] pairs) => pairs.ToDictionary(p => p.Key, p => p.Value);

    [Fact]
    public async Task Chat_NoModelConfigured_UsesDemoModelAndSaysItsTextIsNoise()
    {
        var dir = SynthProcess.ScratchDirectory();
        var r = await SynthProcess.RunAsync(dir, null, "chat", "--prompt", "Give three tips for staying healthy.", "-n", "16", "--seed", "1", "--stats");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("built-in demo model", r.Stderr, StringComparison.Ordinal);
        Assert.Contains("noise", r.Stderr, StringComparison.Ordinal);
        Assert.Contains("completion_tokens=16", r.Stderr, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(dir, "output", "demo", "synth-demo.gguf")));
        Assert.False(string.IsNullOrWhiteSpace(r.Stdout));
    }

    [Fact]
    public async Task Bench_DemoModel_PrintsARowPerParallelismAndWritesJson()
    {
        var dir = SynthProcess.ScratchDirectory();
        var json = Path.Combine(dir, "bench.json");
        var r = await SynthProcess.RunAsync(dir, null, "bench", "--npp", "16", "--ntg", "8", "--npl", "1,4", "--sampling", "cpu", "--json", json);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("S_TG t/s", r.Stdout, StringComparison.Ordinal);
        using var rows = System.Text.Json.JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal([1, 4], rows.RootElement.EnumerateArray().Select(e => e.GetProperty("b").GetInt32()));
        Assert.All(rows.RootElement.EnumerateArray(), e => Assert.True(e.GetProperty("speed_tg").GetDouble() > 0));
    }

    [Fact]
    public async Task Bench_BadParallelismList_NamesTheFlag()
    {
        var dir = SynthProcess.ScratchDirectory();
        var r = await SynthProcess.RunAsync(dir, null, "bench", "--npl", "1,lots");
        Assert.Equal(SynthApp.ExitFailure, r.ExitCode);
        Assert.Contains("--npl: 'lots'", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chat_SameSeedTwice_PrintsTheSameAnswer()
    {
        var dir = SynthProcess.ScratchDirectory();
        var a = await SynthProcess.RunAsync(dir, null, "chat", "-p", "hello", "-n", "12", "--seed", "5", "-t", "1");
        var b = await SynthProcess.RunAsync(dir, null, "chat", "-p", "hello", "-n", "12", "--seed", "5", "-t", "1");
        Assert.Equal(0, a.ExitCode);
        Assert.Equal(a.Stdout, b.Stdout);
    }

    [Fact]
    public async Task Chat_NativeLibraryFolderWithoutLlama_ExplainsWhatToRun()
    {
        var dir = SynthProcess.ScratchDirectory();
        var empty = Directory.CreateDirectory(Path.Combine(dir, "empty-native")).FullName;
        var r = await SynthProcess.RunAsync(dir, Env(("Teacher__NativeLibraryPath", empty)), "chat", "-p", "hi", "-n", "2");
        Assert.Equal(SynthApp.ExitFailure, r.ExitCode);
        Assert.Contains("Teacher:NativeLibraryPath", r.Stderr, StringComparison.Ordinal);
        Assert.Contains("libllama", r.Stderr, StringComparison.Ordinal);
        Assert.Contains("leave Teacher:NativeLibraryPath empty", r.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chat_NativeLibraryFolderMissing_NamesTheSetting()
    {
        var dir = SynthProcess.ScratchDirectory();
        var r = await SynthProcess.RunAsync(dir, Env(("Teacher__NativeLibraryPath", "/no/such/folder")), "chat", "-p", "hi");
        Assert.Equal(SynthApp.ExitBadConfiguration, r.ExitCode);
        Assert.Contains("Teacher:NativeLibraryPath", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chat_ModelPathMissing_NamesTheSettingAndPath()
    {
        var dir = SynthProcess.ScratchDirectory();
        var r = await SynthProcess.RunAsync(dir, null, "chat", "-m", "/no/such/model.gguf", "-p", "hi");
        Assert.Equal(SynthApp.ExitBadConfiguration, r.ExitCode);
        Assert.Contains("Teacher:ModelPath", r.Stderr, StringComparison.Ordinal);
        Assert.Contains("/no/such/model.gguf", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chat_ModelIsNotGguf_SaysSoWithThePath()
    {
        var dir = SynthProcess.ScratchDirectory();
        var notGguf = Path.Combine(dir, "weights.bin");
        await File.WriteAllTextAsync(notGguf, "{\"not\": \"a model\"}");
        var r = await SynthProcess.RunAsync(dir, null, "chat", "-m", notGguf, "-p", "hi");
        Assert.Equal(SynthApp.ExitFailure, r.ExitCode);
        Assert.Contains(notGguf, r.Stderr, StringComparison.Ordinal);
        Assert.Contains("not a valid GGUF file", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chat_ContextLargerThanTheModelAllows_NamesTheSetting()
    {
        var dir = SynthProcess.ScratchDirectory();
        var r = await SynthProcess.RunAsync(dir, Env(("Teacher__ContextPerSequence", "65536")), "chat", "-p", "hi", "-n", "2");
        Assert.Equal(SynthApp.ExitFailure, r.ExitCode);
        Assert.Contains("Teacher:ContextPerSequence", r.Stderr, StringComparison.Ordinal);
        Assert.Contains("trained for (4096 tokens)", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Generate_AppsettingsInTheWorkingDirectoryIsNotJson_NamesTheFileAndLineWithoutAStackTrace()
    {
        var dir = SynthProcess.ScratchDirectory();
        var settings = Path.Combine(dir, "appsettings.json");
        await File.WriteAllTextAsync(settings, "{\n  \"Teacher\": { \"ParallelSequences\": 4 }\n  \"Generate\": { \"Count\": 3 }\n}\n");
        var r = await SynthProcess.RunAsync(dir, null, "generate", "--count", "2");
        Assert.Equal(SynthApp.ExitBadConfiguration, r.ExitCode);
        Assert.Contains($"{settings}:3: not valid JSON", r.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("bug in synth", r.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(dir, "output")) && Directory.EnumerateFileSystemEntries(Path.Combine(dir, "output")).Any());
    }

    [Theory]
    [InlineData(new[] { "generate", "--count", "abc" }, "error: Cannot parse argument 'abc' for option '--count' as a whole number.", "see 'synth generate --help'")]
    [InlineData(new[] { "train", "--lr", "fast" }, "error: Cannot parse argument 'fast' for option '--lr' as a number.", "see 'synth train --help'")]
    [InlineData(new[] { "bench", "--sampling", "gpu" }, "error: Cannot parse argument 'gpu' for option '--sampling' as one of Auto, Graph, Cpu, TopKInGraph.", "see 'synth bench --help'")]
    [InlineData(new[] { "model", "create-random", "m.gguf" }, "error: Option '--vocab-from' is required.", "see 'synth model create-random --help'")]
    [InlineData(new[] { "generate", "--bogus" }, "error: Unrecognized command or argument '--bogus'.", "see 'synth generate --help'")]
    public async Task AnyCommand_FlagMistyped_OneLineNamingTheFlagAndWhatItTakes_Exit2(string[] args, string error, string hint)
    {
        var dir = SynthProcess.ScratchDirectory();
        var r = await SynthProcess.RunAsync(dir, null, args);
        Assert.Equal(SynthApp.ExitBadConfiguration, r.ExitCode);
        Assert.Contains(error, r.Stderr.Split('\n').Select(l => l.TrimEnd()));
        Assert.Contains(hint, r.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", r.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Description:", r.Stdout + r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chat_SettingOfWrongType_NamesTheSection()
    {
        var dir = SynthProcess.ScratchDirectory();
        var r = await SynthProcess.RunAsync(dir, Env(("Teacher__ContextPerSequence", "lots")), "chat", "-p", "hi");
        Assert.Equal(SynthApp.ExitBadConfiguration, r.ExitCode);
        Assert.Contains("Teacher", r.Stderr, StringComparison.Ordinal);
        Assert.Contains("lots", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModelCreateDemoThenInfo_PrintsMetadataTensorsVocabularyAndTemplate()
    {
        var dir = SynthProcess.ScratchDirectory();
        var path = Path.Combine(dir, "demo.gguf");
        var create = await SynthProcess.RunAsync(dir, null, "model", "create-demo", path);
        Assert.True(create.ExitCode == 0, create.Stderr);
        Assert.Contains("parameters", create.Stdout, StringComparison.Ordinal);

        var info = await SynthProcess.RunAsync(dir, null, "model", "info", path);
        Assert.True(info.ExitCode == 0, info.Stderr);
        Assert.Contains("general.architecture", info.Stdout, StringComparison.Ordinal);
        Assert.Contains("blk.1.attn_output.weight", info.Stdout, StringComparison.Ordinal);
        Assert.Contains("Q8_0", info.Stdout, StringComparison.Ordinal);
        Assert.Contains("type SPM", info.Stdout, StringComparison.Ordinal);
        Assert.Contains("<|im_start|>", info.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"parameters: [\d,]+ \(", info.Stdout);
        Assert.Matches(@"llama\.cpp: LLamaSharp 0\.30\.0, ggml 0\.18\.0 \(\w+\) from .*runtimes/linux-x64/native/\w+; GPU offload not supported; devices: CPU", info.Stdout);
    }

    [Fact]
    public async Task ModelInfo_TruncatedFile_ReportsTheDefectWithoutACrash()
    {
        var dir = SynthProcess.ScratchDirectory();
        var path = Path.Combine(dir, "demo.gguf");
        await SynthProcess.RunAsync(dir, null, "model", "create-demo", path);
        var bytes = await File.ReadAllBytesAsync(path);
        await File.WriteAllBytesAsync(path, bytes[..(bytes.Length / 2)]);
        var r = await SynthProcess.RunAsync(dir, null, "model", "info", path);
        Assert.Equal(SynthApp.ExitFailure, r.ExitCode);
        Assert.Contains("truncated", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chat_NativeLibraryOfAnotherLlamaCpp_IsRefusedBeforeLoadingWithWhatToBuild()
    {
        var dir = SynthProcess.ScratchDirectory();
        // Stands in for another llama.cpp build: its ggml reports another version. Were it loaded, LLamaSharp's structs
        // would not match it; llama_backend_init aborts to prove it is never reached.
        var fake = await FakeLlamaCppAsync(Path.Combine(dir, "other-llama"), """
            #include <stdlib.h>
            void llama_backend_init(void) { abort(); }
            """, "0.25.1", "0ad4a86");

        var r = await SynthProcess.RunAsync(dir, Env(("Teacher__NativeLibraryPath", fake)), "chat", "-p", "hi", "-n", "2");
        Assert.Equal(SynthApp.ExitFailure, r.ExitCode);
        Assert.Contains("it reports ggml 0.25.1 (0ad4a86)", r.Stderr, StringComparison.Ordinal);
        Assert.Contains("llama.cpp commit c0c7e147", r.Stderr, StringComparison.Ordinal);
        Assert.Contains("-DBUILD_SHARED_LIBS=ON", r.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chat_InterruptedWithSigint_StopsAndExitsWith130()
    {
        var dir = SynthProcess.ScratchDirectory();
        var r = await SynthProcess.RunAsync(dir, Env(("Teacher__ContextPerSequence", "4096")), onFirstOutput: async pid =>
        {
            using var kill = System.Diagnostics.Process.Start("kill", $"-INT {pid}")!;
            await kill.WaitForExitAsync();
        }, "chat", "-p", "Write a long story.", "-n", "4000", "--ignore-eos", "--seed", "1");
        Assert.Equal(SynthApp.ExitCancelled, r.ExitCode);
        Assert.Contains("cancelled", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chat_LaterLlamaCppPatchedToLLamaSharpsLayouts_PassesTheVersionCheck()
    {
        var dir = SynthProcess.ScratchDirectory();
        // A later ggml, but a libllama.so that says it was patched by build/llama-abi/: the version check lets it
        // through to LLamaSharp, which then finds none of llama.cpp's functions in this stand-in and says so.
        var fake = await FakeLlamaCppAsync(Path.Combine(dir, "patched-llama"), """
            void llama_backend_init(void) { }
            const char * synth_llamasharp_layouts(void) { return "b10361 with llama_context_params as in c0c7e147"; }
            """, "0.19.0", "unknown");

        var r = await SynthProcess.RunAsync(dir, Env(("Teacher__NativeLibraryPath", fake)), "chat", "-p", "hi", "-n", "2");
        Assert.NotEqual(0, r.ExitCode);
        Assert.DoesNotContain("it reports ggml", r.Stderr, StringComparison.Ordinal);
        Assert.Contains($"llama.cpp could not be loaded from {fake}: Unable to find an entry point", r.Stderr, StringComparison.Ordinal);
        Assert.Contains("patch-b10361.sh", r.Stderr, StringComparison.Ordinal);
    }

    /// <summary>A folder with gcc-built libllama.so (from <paramref name="llamaSource"/>), libggml.so and libggml-base.so reporting the given ggml.</summary>
    private static async Task<string> FakeLlamaCppAsync(string folder, string llamaSource, string ggmlVersion, string ggmlCommit)
    {
        var fake = Directory.CreateDirectory(folder).FullName;
        var llama = Path.Combine(fake, "llama.c");
        await File.WriteAllTextAsync(llama, llamaSource);
        var ggml = Path.Combine(fake, "ggml.c");
        await File.WriteAllTextAsync(ggml, $$"""
            const char * ggml_version(void) { return "{{ggmlVersion}}"; }
            const char * ggml_commit(void) { return "{{ggmlCommit}}"; }
            """);
        await GccAsync($"-shared -fPIC -o {fake}/libllama.so {llama}");
        await GccAsync($"-shared -fPIC -o {fake}/libggml.so {ggml}");
        await GccAsync($"-shared -fPIC -o {fake}/libggml-base.so {ggml}");
        return fake;
    }

    private static async Task GccAsync(string args)
    {
        using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("gcc", args) { RedirectStandardError = true })!;
        var err = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, err);
    }

    [Fact]
    public async Task Chat_CudaBackendThatCannotLoad_WarnsAndStillAnswersOnTheCpu()
    {
        var dir = SynthProcess.ScratchDirectory();
        var folder = Directory.CreateDirectory(Path.Combine(dir, "cuda-without-runtime")).FullName;
        // LLamaSharp's bundled build without AVX: it runs on any x86-64 machine.
        foreach (var lib in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "noavx"), "*.so"))
            File.CreateSymbolicLink(Path.Combine(folder, Path.GetFileName(lib)), lib);
        // Stands in for a CUDA backend whose runtime (libcudart) is missing: it cannot be loaded.
        await File.WriteAllTextAsync(Path.Combine(folder, "libggml-cuda.so"), "not a shared library");

        var r = await SynthProcess.RunAsync(dir, Env(("Teacher__NativeLibraryPath", folder)), "chat", "-p", "hi", "-n", "4", "--seed", "1", "--stats");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("no CUDA device was found, so llama.cpp runs on the CPU", r.Stderr, StringComparison.Ordinal);
        Assert.Contains("CUDA runtime (libcudart, libcublas)", r.Stderr, StringComparison.Ordinal);
        Assert.Contains("completion_tokens=4", r.Stderr, StringComparison.Ordinal);
    }
}

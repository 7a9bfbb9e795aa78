using System.Reflection;
using System.Runtime.InteropServices;
using LLama.Native;
using Microsoft.Extensions.Logging;

namespace SynthPipeline.Llama.Native;

/// <summary>
/// Loads llama.cpp once per process through LLamaSharp: its bundled CPU build (LLamaSharp.Backend.Cpu, best AVX
/// variant for this CPU), its CUDA build when built with <c>-p:SynthCuda=true</c>, or a user's own build from
/// <c>Teacher:NativeLibraryPath</c>. A user's build must be the llama.cpp LLamaSharp was written for: its ggml commit
/// is read before LLamaSharp touches it, and any other build is refused with what to build instead, unless it was
/// patched to LLamaSharp's layouts by <c>build/llama-abi/</c> and says so.
/// </summary>
public static class LlamaLibrary
{
    /// <summary>The LLamaSharp release whose structs and signatures this binding uses.</summary>
    public const string LLamaSharpRelease = "0.30.0";

    /// <summary>The llama.cpp commit LLamaSharp 0.30.0 pins (b9297 + 1).</summary>
    public const string LlamaCppCommit = "c0c7e147";

    /// <summary>
    /// What that build's ggml reports as <c>ggml_version</c> (its bundled build's <c>ggml_commit</c> is 815a2a591; a
    /// build from a source tarball reports none, so only the version is compared).
    /// </summary>
    public const string ExpectedGgmlVersion = "0.18.0";

    private static readonly Lock Gate = new();
    private static readonly string[] RequiredFiles = ["libllama.so", "libggml.so", "libggml-base.so"];
    private static string? _directory;
    private static bool _initialized;

    /// <summary>The folder the native libraries were loaded from, once initialised.</summary>
    public static string? Directory => _directory;

    /// <summary>Backend devices llama.cpp found (for example "CPU", "CUDA0"), once initialised.</summary>
    public static IReadOnlyList<string> Devices { get; private set; } = [];

    /// <summary>
    /// Loads llama.cpp from <paramref name="nativeLibraryPath"/> (or LLamaSharp's bundled build) and routes its log to
    /// <paramref name="logger"/>. Later calls are no-ops; a different folder after loading is an error.
    /// </summary>
    /// <exception cref="LlamaNativeLibraryException">The libraries are missing, unusable or of another llama.cpp; the message says what to do.</exception>
    public static void Initialize(string? nativeLibraryPath = null, ILogger? logger = null)
    {
        lock (Gate)
        {
            if (logger is not null) NativeLog.Logger = logger;
            var requested = string.IsNullOrWhiteSpace(nativeLibraryPath) ? null : Path.GetFullPath(nativeLibraryPath);
            if (_initialized)
            {
                if (requested is not null && !PathsEqual(requested, _directory!))
                    throw new LlamaNativeLibraryException(
                        $"llama.cpp is already loaded from '{_directory}'; Teacher:NativeLibraryPath='{requested}' cannot be switched within one process.");
                return;
            }
            if (requested is not null) CheckUserBuild(requested);
            try
            {
                if (!NativeLibraryConfig.LLama.LibraryHasLoaded)
                {
                    if (requested is not null) NativeLibraryConfig.LLama.WithLibrary(Path.Combine(requested, "libllama.so"));
                    NativeLibraryConfig.All.WithLogCallback(NativeLog.OnLog);
                }
                NativeApi.llama_empty_call();
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException or TypeInitializationException
                                           or LLama.Exceptions.RuntimeError)
            {
                throw new LlamaNativeLibraryException(HowToFix(requested ?? "LLamaSharp's bundled build", (e.InnerException ?? e).Message), e);
            }
            _directory = requested ?? LoadedDirectory() ?? throw new LlamaNativeLibraryException(HowToFix(requested ?? "LLamaSharp's bundled build",
                "libllama.so was loaded but its folder could not be found"));
            NativeLibrary.SetDllImportResolver(typeof(LlamaLibrary).Assembly, Resolve);
            Devices = ListDevices();
            WarnIfCudaBackendDidNotLoad(_directory);
            _initialized = true;
        }
    }

    /// <summary>Makes sure the library is loaded, with LLamaSharp's bundled build if nobody configured one.</summary>
    internal static void EnsureInitialized()
    {
        if (!Volatile.Read(ref _initialized)) Initialize();
    }

    /// <summary>The loaded build: LLamaSharp's release and what its ggml reports.</summary>
    public static unsafe string Version
    {
        get
        {
            EnsureInitialized();
            return $"LLamaSharp {LLamaSharpRelease}, ggml {NativeMethods.Utf8(NativeMethods.GgmlVersion())} ({NativeMethods.Utf8(NativeMethods.GgmlCommit())})";
        }
    }

    /// <summary>True when the loaded build can offload layers to a GPU.</summary>
    public static bool SupportsGpuOffload
    {
        get
        {
            EnsureInitialized();
            return NativeApi.llama_supports_gpu_offload();
        }
    }

    internal static string HowToFix(string source, string detail) =>
        $"llama.cpp could not be loaded from {source}: {detail}{Environment.NewLine}" +
        $"To fix: leave Teacher:NativeLibraryPath empty to use LLamaSharp {LLamaSharpRelease}'s bundled CPU build (restored by `dotnet build`), " +
        $"build with `-p:SynthCuda=true` for its CUDA 12 build, or point Teacher:NativeLibraryPath (environment: Teacher__NativeLibraryPath) at a " +
        $"folder with libllama.so, libggml.so and libggml-base.so built from llama.cpp commit {LlamaCppCommit} (the one LLamaSharp {LLamaSharpRelease} " +
        "pins), e.g. `cmake -B build -DBUILD_SHARED_LIBS=ON -DGGML_CUDA=ON && cmake --build build -j`, or from llama.cpp b10361 " +
        "(npm node-llama-cpp@3.20.0) after `bash build/llama-abi/patch-b10361.sh <source>`.";

    /// <summary>
    /// A user's folder must hold the libraries and report the ggml of LLamaSharp's llama.cpp. It is read with a plain
    /// dlopen before LLamaSharp loads it: another build's structs would not match LLamaSharp's and corrupt memory.
    /// </summary>
    private static unsafe void CheckUserBuild(string dir)
    {
        if (!System.IO.Directory.Exists(dir))
            throw new LlamaNativeLibraryException(HowToFix($"'{dir}'", "Teacher:NativeLibraryPath does not exist"));
        foreach (var file in RequiredFiles)
            if (!File.Exists(Path.Combine(dir, file)))
                throw new LlamaNativeLibraryException(HowToFix($"'{dir}'", $"Teacher:NativeLibraryPath has no {file}"));
        string? version;
        string reported;
        try
        {
            var ggmlBase = NativeLibrary.Load(Path.Combine(dir, "libggml-base.so"));
            var readVersion = (delegate* unmanaged[Cdecl]<byte*>)NativeLibrary.GetExport(ggmlBase, "ggml_version");
            var readCommit = (delegate* unmanaged[Cdecl]<byte*>)NativeLibrary.GetExport(ggmlBase, "ggml_commit");
            version = NativeMethods.Utf8(readVersion());
            reported = $"{version} ({NativeMethods.Utf8(readCommit())})";
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            throw new LlamaNativeLibraryException(HowToFix($"'{dir}'", $"its libggml-base.so cannot be read ({e.Message})"), e);
        }
        if (!string.Equals(version, ExpectedGgmlVersion, StringComparison.Ordinal) && PatchedLayouts(dir) is null)
            throw new LlamaNativeLibraryException(HowToFix($"'{dir}'",
                $"it reports ggml {reported}, but LLamaSharp {LLamaSharpRelease} is written for llama.cpp {LlamaCppCommit}, whose ggml reports {ExpectedGgmlVersion}"));
    }

    /// <summary>
    /// What a build patched to LLamaSharp's struct layouts says of itself (<c>build/llama-abi/</c>: a later llama.cpp
    /// whose only layout difference was removed, for GPU builds), or null for any other build.
    /// </summary>
    private static unsafe string? PatchedLayouts(string dir)
    {
        try
        {
            var llama = NativeLibrary.Load(Path.Combine(dir, "libllama.so"));
            return NativeLibrary.TryGetExport(llama, PatchedLayoutsExport, out var export)
                ? NativeMethods.Utf8(((delegate* unmanaged[Cdecl]<byte*>)export)())
                : null;
        }
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
        {
            return null;
        }
    }

    /// <summary>The function build/llama-abi/patch-b10361.sh adds to a patched libllama.so.</summary>
    internal const string PatchedLayoutsExport = "synth_llamasharp_layouts";

    /// <summary>The folder of the libllama.so this process mapped (LLamaSharp chooses it, e.g. runtimes/linux-x64/native/avx2).</summary>
    private static string? LoadedDirectory()
    {
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            var at = line.IndexOf('/', StringComparison.Ordinal);
            if (at >= 0 && line.EndsWith("/libllama.so", StringComparison.Ordinal)) return Path.GetDirectoryName(line[at..]);
        }
        return null;
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        var file = libraryName switch
        {
            NativeMethods.Llama => "libllama.so",
            NativeMethods.Ggml => "libggml.so",
            NativeMethods.GgmlBase => "libggml-base.so",
            _ => null,
        };
        return file is null || _directory is null ? 0 : NativeLibrary.Load(Path.Combine(_directory, file));
    }

    // ggml loads libggml-cuda.so only if the CUDA runtime is installed; otherwise it silently runs on the CPU.
    private static void WarnIfCudaBackendDidNotLoad(string dir)
    {
        if (!File.Exists(Path.Combine(dir, "libggml-cuda.so")) || Devices.Any(d => d.StartsWith("CUDA", StringComparison.Ordinal))) return;
        NativeLog.Warn($"'{dir}' has the CUDA backend (libggml-cuda.so) but no CUDA device was found, so llama.cpp runs on the CPU. " +
            "It needs an NVIDIA driver and the CUDA runtime (libcudart, libcublas) on the library path. " + NativeLog.TakeRecentProblems());
    }

    private static unsafe List<string> ListDevices()
    {
        var devices = new List<string>();
        var n = (int)NativeApi.ggml_backend_dev_count();
        for (var i = 0; i < n; i++)
        {
            var dev = NativeApi.ggml_backend_dev_get((nuint)i);
            devices.Add($"{Marshal.PtrToStringUTF8(NativeApi.ggml_backend_dev_name(dev))} ({NativeMethods.Utf8(NativeMethods.GgmlBackendDevDescription(dev))})");
        }
        return devices;
    }

    private static bool PathsEqual(string a, string b) =>
        string.Equals(Path.TrimEndingDirectorySeparator(a), Path.TrimEndingDirectorySeparator(b), StringComparison.Ordinal);
}

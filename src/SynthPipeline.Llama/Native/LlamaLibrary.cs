using System.Reflection;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace SynthPipeline.Llama.Native;

/// <summary>
/// Finds, loads and initialises llama.cpp once per process. The folder is <c>Teacher:NativeLibraryPath</c> when
/// configured, else <c>native/cuda</c> (present after a build with <c>-p:SynthCuda=true</c>), else <c>native/cpu</c>
/// next to the application.
/// </summary>
public static class LlamaLibrary
{
    /// <summary>The llama.cpp release the binding's structs and signatures were written against.</summary>
    public const string ExpectedRelease = "v0.5.0";

    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, string[]> FileNames = new(StringComparer.Ordinal)
    {
        // npm CPU build, npm CUDA build, then a build from source (BUILD_SHARED_LIBS=ON).
        [NativeMethods.Llama] = ["libllama.v0.5.0.so", "libllama.cuda.v0.5.0.so", "libllama.so"],
        [NativeMethods.Ggml] = ["libggml.v0.5.0.so", "libggml.cuda.v0.5.0.so", "libggml.so"],
        [NativeMethods.GgmlBase] = ["libggml-base.so"],
    };

    private static string? _directory;
    private static bool _initialized;
    private static bool _resolverInstalled;

    /// <summary>The folder the native libraries were loaded from, once initialised.</summary>
    public static string? Directory => _directory;

    /// <summary>Backend devices llama.cpp found (for example "CPU", "CUDA0"), once initialised.</summary>
    public static IReadOnlyList<string> Devices { get; private set; } = [];

    /// <summary>The default folder when nothing is configured.</summary>
    public static string DefaultDirectory
    {
        get
        {
            var cuda = Path.Combine(AppContext.BaseDirectory, "native", "cuda");
            return File.Exists(Path.Combine(cuda, "libllama.cuda.v0.5.0.so")) ? cuda : Path.Combine(AppContext.BaseDirectory, "native", "cpu");
        }
    }

    /// <summary>
    /// Loads llama.cpp from <paramref name="nativeLibraryPath"/> (or the default folder) and routes its log to
    /// <paramref name="logger"/>. Later calls are no-ops; a different folder after loading is an error.
    /// </summary>
    /// <exception cref="LlamaNativeLibraryException">The libraries are missing or unusable; the message says what to run.</exception>
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

            var dir = requested ?? DefaultDirectory;
            CheckFolder(dir, configured: requested is not null);
            _directory = dir;
            if (!_resolverInstalled)
            {
                NativeLibrary.SetDllImportResolver(typeof(LlamaLibrary).Assembly, Resolve);
                _resolverInstalled = true;
            }
            try
            {
                NativeLog.Install();
                NativeMethods.GgmlBackendLoadAllFromPath(dir);
                NativeMethods.LlamaBackendInit();
                var version = ReadVersion();
                if (!version.StartsWith(ExpectedRelease[1..], StringComparison.Ordinal))
                    throw new LlamaNativeLibraryException(HowToFix(dir, $"it reports llama.cpp {version}, but SynthPipeline's binding is written against {ExpectedRelease}"));
                Devices = ListDevices();
                WarnIfCudaBackendDidNotLoad(dir);
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
            {
                _directory = null;
                throw new LlamaNativeLibraryException(HowToFix(dir, e.Message), e);
            }
            catch (LlamaNativeLibraryException)
            {
                _directory = null;
                throw;
            }
            _initialized = true;
        }
    }

    /// <summary>Makes sure the library is loaded, with the default folder if nobody configured one.</summary>
    internal static void EnsureInitialized()
    {
        if (!Volatile.Read(ref _initialized)) Initialize();
    }

    /// <summary>The version string the loaded libllama reports.</summary>
    public static unsafe string Version
    {
        get
        {
            EnsureInitialized();
            return NativeMethods.Utf8(NativeMethods.LlamaVersion()) ?? "unknown";
        }
    }

    /// <summary>True when the loaded build can offload layers to a GPU.</summary>
    public static bool SupportsGpuOffload
    {
        get
        {
            EnsureInitialized();
            return NativeMethods.LlamaSupportsGpuOffload();
        }
    }

    internal static string HowToFix(string dir, string detail) =>
        $"llama.cpp {ExpectedRelease} native libraries could not be loaded from '{dir}': {detail}{Environment.NewLine}" +
        "To fix: run `dotnet build` from the repository root (it fetches the prebuilt CPU libraries from npm " +
        "@node-llama-cpp/linux-x64@3.22.1 and needs npm), build with `-p:SynthCuda=true` for the CUDA 13 build, or set " +
        "Teacher:NativeLibraryPath (environment: Teacher__NativeLibraryPath) to a folder with libllama.so and libggml*.so " +
        $"of llama.cpp {ExpectedRelease}.";

    private static void CheckFolder(string dir, bool configured)
    {
        var source = configured ? "Teacher:NativeLibraryPath" : "the default native folder";
        if (!System.IO.Directory.Exists(dir))
            throw new LlamaNativeLibraryException(HowToFix(dir, $"{source} does not exist"));
        foreach (var (logical, names) in FileNames)
        {
            if (!names.Any(n => File.Exists(Path.Combine(dir, n))))
                throw new LlamaNativeLibraryException(HowToFix(dir, $"{source} has none of {string.Join(", ", names)} (needed for '{logical}')"));
        }
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (!FileNames.TryGetValue(libraryName, out var names) || _directory is null) return 0;
        foreach (var name in names)
        {
            var path = Path.Combine(_directory, name);
            if (File.Exists(path)) return NativeLibrary.Load(path);
        }
        return 0;
    }

    // ggml loads libggml-cuda.so only if the CUDA 13 runtime is installed; otherwise it silently runs on the CPU.
    private static void WarnIfCudaBackendDidNotLoad(string dir)
    {
        if (!File.Exists(Path.Combine(dir, "libggml-cuda.so")) || Devices.Any(d => d.StartsWith("CUDA", StringComparison.Ordinal))) return;
        NativeLog.Warn($"'{dir}' has the CUDA backend (libggml-cuda.so) but no CUDA device was found, so llama.cpp runs on the CPU. " +
            "It needs an NVIDIA driver and the CUDA 13 runtime (libcudart.so.13, libcublas.so.13) on the library path. " +
            NativeLog.TakeRecentProblems());
    }

    private static unsafe string ReadVersion() => NativeMethods.Utf8(NativeMethods.LlamaVersion()) ?? "unknown";

    private static unsafe List<string> ListDevices()
    {
        var devices = new List<string>();
        var n = (int)NativeMethods.GgmlBackendDevCount();
        for (var i = 0; i < n; i++)
        {
            var dev = NativeMethods.GgmlBackendDevGet((nuint)i);
            devices.Add($"{NativeMethods.Utf8(NativeMethods.GgmlBackendDevName(dev))} ({NativeMethods.Utf8(NativeMethods.GgmlBackendDevDescription(dev))})");
        }
        return devices;
    }

    private static bool PathsEqual(string a, string b) =>
        string.Equals(Path.TrimEndingDirectorySeparator(a), Path.TrimEndingDirectorySeparator(b), StringComparison.Ordinal);
}

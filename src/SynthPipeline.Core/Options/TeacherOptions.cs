using System.ComponentModel.DataAnnotations;

namespace SynthPipeline.Core.Options;

/// <summary>
/// The <c>Teacher</c> section of appsettings.json: which GGUF model generates data and how it runs.
/// Environment variables override it (<c>Teacher__ModelPath</c>), and command-line flags override both.
/// </summary>
public sealed class TeacherOptions
{
    public const string Section = "Teacher";

    /// <summary>OpenAI-compatible servers to use instead of the local model; empty uses the local model.</summary>
    public List<TeacherEndpointOptions> Endpoints { get; set; } = [];

    /// <summary>True when requests go to <see cref="Endpoints"/> rather than to a model in this process.</summary>
    public bool IsRemote => Endpoints.Count > 0;

    /// <summary>Path of the teacher GGUF. Empty: the built-in demo model (random weights; its text is noise).</summary>
    public string? ModelPath { get; set; }

    /// <summary>Folder with libllama and libggml; empty uses the libraries the build fetched.</summary>
    public string? NativeLibraryPath { get; set; }

    /// <summary>Layers offloaded to the GPU: -1 = all that fit the device, 0 = CPU only.</summary>
    [Range(-1, 100000)]
    public int GpuLayers { get; set; } = -1;

    /// <summary>Sequences the engine decodes together (continuous batching); llama.cpp allows up to 256.</summary>
    [Range(1, 256)]
    public int ParallelSequences { get; set; } = 4;

    /// <summary>Tokens (prompt plus output) each sequence may hold; the KV cache holds ParallelSequences times this.</summary>
    [Range(16, 1 << 20)]
    public int ContextPerSequence { get; set; } = 4096;

    /// <summary>Tokens per llama_decode call (n_batch): one per generating sequence plus prompt chunks.</summary>
    [Range(1, 1 << 16)]
    public int BatchSize { get; set; } = 512;

    /// <summary>Tokens computed at once inside a decode (n_ubatch).</summary>
    [Range(1, 1 << 16)]
    public int MicroBatchSize { get; set; } = 512;

    /// <summary>KV cache element type: f16, bf16, f32, q8_0 or q4_0.</summary>
    public KvCacheType KvCacheType { get; set; } = KvCacheType.F16;

    /// <summary>Flash attention: auto, on or off.</summary>
    public Switch FlashAttention { get; set; } = Switch.Auto;

    /// <summary>Where tokens are sampled: graph (inside the compute graph, where a request's sampler allows it), cpu, or auto (graph on a GPU for at most 4 parallel sequences, where it measured faster).</summary>
    public SamplingMode Sampling { get; set; } = SamplingMode.Auto;

    /// <summary>Share the KV of prompt prefixes between sequences instead of recomputing them.</summary>
    public bool PrefixSharing { get; set; } = true;

    /// <summary>CPU threads; 0 = all cores.</summary>
    [Range(0, 1024)]
    public int Threads { get; set; }

    /// <summary>A llama.cpp built-in template name (chatml, llama3, …) overriding the model's own; empty uses the model's.</summary>
    public string? ChatTemplate { get; set; }

    [Range(1, 1 << 20)]
    public int MaxOutputTokens { get; set; } = 512;

    [Range(0.0, 10.0)]
    public double Temperature { get; set; } = 0.7;

    [Range(0.0, 1.0)]
    public double TopP { get; set; } = 0.95;

    /// <summary>Checks every setting once and reports all problems, each named by its configuration key.</summary>
    /// <exception cref="OptionsValidationError">One or more settings are invalid.</exception>
    public TeacherOptions Validate()
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(this, new ValidationContext(this), results, validateAllProperties: true);
        var errors = results.Select(r => $"{Section}:{string.Join(",", r.MemberNames)}: {r.ErrorMessage}").ToList();
        for (var i = 0; i < Endpoints.Count; i++) errors.AddRange(Endpoints[i].Problems($"{Section}:Endpoints:{i}"));
        if (!string.IsNullOrWhiteSpace(ModelPath) && !File.Exists(ModelPath))
            errors.Add($"{Section}:ModelPath: '{ModelPath}' does not exist");
        if (!string.IsNullOrWhiteSpace(NativeLibraryPath) && !Directory.Exists(NativeLibraryPath))
            errors.Add($"{Section}:NativeLibraryPath: folder '{NativeLibraryPath}' does not exist");
        if (BatchSize < ParallelSequences)
            errors.Add($"{Section}:BatchSize: {BatchSize} is less than {Section}:ParallelSequences ({ParallelSequences}); every sequence needs a token in each step");
        if (errors.Count > 0) throw new OptionsValidationError(errors);
        return this;
    }

    /// <summary>In-graph sampling as a tri-state: null = auto.</summary>
    public bool? GraphSampling => Sampling switch { SamplingMode.Graph => true, SamplingMode.Cpu => false, _ => null };
}

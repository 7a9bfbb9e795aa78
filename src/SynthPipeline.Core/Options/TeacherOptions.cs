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

    /// <summary>The name <see cref="Roles"/> uses for the model in this process.</summary>
    public const string LocalRole = "local";

    /// <summary>
    /// Which model plays each role: endpoint names (or indexes), comma-separated, or <c>local</c>. A role not listed
    /// uses every endpoint, or the local model when there are none. E.g. <c>"Judge": "small"</c> pairs a big
    /// generator with a small, fast judge.
    /// </summary>
    public Dictionary<TeacherRole, string> Roles { get; set; } = [];

    /// <summary>chat (the chat template, /v1/chat/completions) or completion (the raw prompt, /v1/completions) for base models.</summary>
    public TeacherMode Mode { get; set; } = TeacherMode.Chat;

    /// <summary>
    /// The endpoints (by index) that play <paramref name="role"/>; an empty list means the local model. Call after
    /// <see cref="Validate"/>.
    /// </summary>
    public IReadOnlyList<int> EndpointsFor(TeacherRole role)
    {
        if (!Roles.TryGetValue(role, out var names) || string.IsNullOrWhiteSpace(names)) return [.. Enumerable.Range(0, Endpoints.Count)];
        var list = new List<int>();
        foreach (var name in names.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (name == LocalRole) return [];
            list.Add(IndexOf(name));
        }
        return list;
    }

    /// <summary>True when some role runs on the model in this process, so it must be loaded.</summary>
    public bool UsesLocalModel => Enum.GetValues<TeacherRole>().Any(r => EndpointsFor(r).Count == 0);

    private int IndexOf(string name)
    {
        for (var i = 0; i < Endpoints.Count; i++)
            if (Endpoints[i].Label(i) == name) return i;
        return -1;
    }

    /// <summary>Path of the teacher GGUF. Empty: the built-in demo model (random weights; its text is noise).</summary>
    public string? ModelPath { get; set; }

    /// <summary>Folder with libllama and libggml; empty uses the libraries the build fetched.</summary>
    public string? NativeLibraryPath { get; set; }

    /// <summary>Layers offloaded to the GPU: -1 = all that fit the device, 0 = CPU only.</summary>
    [Range(-1, 100000)]
    public int GpuLayers { get; set; } = -1;

    /// <summary>llama.cpp's most sequences in one context: the parallel ones and the prefix caches together.</summary>
    public const int MaxSequences = 256;

    /// <summary>Sequences the engine decodes together (continuous batching); llama.cpp allows up to 256.</summary>
    [Range(1, MaxSequences)]
    public int ParallelSequences { get; set; } = 4;

    /// <summary>Tokens (prompt plus output) each sequence may hold; the KV cache holds (ParallelSequences + PrefixCacheSlots) times this.</summary>
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

    /// <summary>Where tokens are sampled: graph (inside the compute graph, where a request's sampler allows it), cpu, auto (graph on a GPU for at most 4 parallel sequences, where it measured faster), or topkingraph (a top-k chain's cut in the graph, so only k logits a token leave the device; the rest of the chain on the CPU).</summary>
    public SamplingMode Sampling { get; set; } = SamplingMode.Auto;

    /// <summary>CPU sampling runs the chain over bounded candidates (the best logits and the penalised tokens) instead of the whole vocabulary where that draws the same token: auto (vocabularies of 16,384 tokens or more), on, or off (llama.cpp's full-vocabulary path).</summary>
    public Switch TopCandidates { get; set; } = Switch.Auto;

    /// <summary>Handle each step's text, stop sequences and callbacks while the next step decodes (hidden behind a GPU's asynchronous decode).</summary>
    public bool OverlapText { get; set; } = true;

    /// <summary>
    /// Rehearse the run on the local model: Self-Instruct answers come from a built-in script in a chat model's shape
    /// and lengths, forced token by token while the model still decodes each one. For timing a run on a GPU with
    /// random weights of the teacher's shape before the real model is at hand; the data it writes is not real.
    /// </summary>
    public bool Rehearsal { get; set; }

    /// <summary>Share the KV of prompt prefixes between sequences instead of recomputing them.</summary>
    public bool PrefixSharing { get; set; } = true;

    /// <summary>
    /// Sequence slots beyond ParallelSequences that only keep finished requests' prompts as a prefix cache, so that
    /// with few sequences the few-shot headers of each kind of request stay cached; each holds ContextPerSequence KV cells.
    /// Unset: <see cref="DefaultPrefixCacheSlots"/>, fewer where ParallelSequences leaves less room under llama.cpp's 256 sequences.
    /// </summary>
    [Range(0, 255)]
    public int? PrefixCacheSlots { get; set; }

    /// <summary>The prefix cache slots when <see cref="PrefixCacheSlots"/> is unset: one per kind of Self-Instruct prompt.</summary>
    public const int DefaultPrefixCacheSlots = 4;

    /// <summary>The prefix cache slots the engine gets: the setting, or the default within llama.cpp's 256 sequences.</summary>
    public int EffectivePrefixCacheSlots => PrefixCacheSlots ?? Math.Clamp(MaxSequences - ParallelSequences, 0, DefaultPrefixCacheSlots);

    /// <summary>Prompt tokens one decode step may carry besides the generating sequences (0: as many as the batch holds).</summary>
    [Range(0, 1_000_000)]
    public int PrefillBudget { get; set; }

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
        if (Rehearsal && EndpointsFor(TeacherRole.Generate).Count > 0)
            errors.Add($"{Section}:Rehearsal: a rehearsal forces answers on the local model, but the Generate role goes to endpoints; set Teacher:Roles:Generate to '{LocalRole}' or turn Rehearsal off");
        if (!string.IsNullOrWhiteSpace(ModelPath) && !File.Exists(ModelPath))
            errors.Add($"{Section}:ModelPath: '{ModelPath}' does not exist");
        if (!string.IsNullOrWhiteSpace(NativeLibraryPath) && !Directory.Exists(NativeLibraryPath))
            errors.Add($"{Section}:NativeLibraryPath: folder '{NativeLibraryPath}' does not exist");
        foreach (var (role, names) in Roles)
        {
            var parts = (names ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (parts.Length == 0) errors.Add($"{Section}:Roles:{role}: name endpoints (comma-separated) or '{LocalRole}'");
            else if (parts.Contains(LocalRole) && parts.Length > 1) errors.Add($"{Section}:Roles:{role}: '{LocalRole}' cannot be mixed with endpoints");
            foreach (var part in parts.Where(p => p != LocalRole && IndexOf(p) < 0))
                errors.Add($"{Section}:Roles:{role}: '{part}' is no endpoint; the endpoints are {(Endpoints.Count == 0 ? "(none)" : string.Join(", ", Endpoints.Select((e, i) => e.Label(i))))}, or '{LocalRole}'");
        }
        var labels = Endpoints.Select((e, i) => e.Label(i)).ToList();
        foreach (var duplicate in labels.GroupBy(l => l).Where(g => g.Count() > 1))
            errors.Add($"{Section}:Endpoints: the name '{duplicate.Key}' is used by {duplicate.Count()} endpoints; give each its own Name");
        if (ParallelSequences + EffectivePrefixCacheSlots > MaxSequences)
            errors.Add($"{Section}:PrefixCacheSlots: {PrefixCacheSlots} with {Section}:ParallelSequences ({ParallelSequences}) makes more than llama.cpp's {MaxSequences} sequences");
        if (BatchSize < ParallelSequences)
            errors.Add($"{Section}:BatchSize: {BatchSize} is less than {Section}:ParallelSequences ({ParallelSequences}); every sequence needs a token in each step");
        if (errors.Count > 0) throw new OptionsValidationError(errors);
        return this;
    }

    /// <summary>In-graph sampling as a tri-state: null = auto.</summary>
    public bool? GraphSampling => Sampling switch { SamplingMode.Graph => true, SamplingMode.Cpu or SamplingMode.TopKInGraph => false, _ => null };
}

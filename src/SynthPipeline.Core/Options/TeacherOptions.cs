using System.ComponentModel.DataAnnotations;

namespace SynthPipeline.Options;

/// <summary>
/// The <c>Teacher</c> section of appsettings.json: which GGUF model generates data and how it runs.
/// Environment variables override it (<c>Teacher__ModelPath</c>), and command-line flags override both.
/// </summary>
public sealed class TeacherOptions
{
    public const string Section = "Teacher";

    /// <summary>Path of the teacher GGUF. Empty: the built-in demo model (random weights; its text is noise).</summary>
    public string? ModelPath { get; set; }

    /// <summary>Folder with libllama and libggml; empty uses the libraries the build fetched.</summary>
    public string? NativeLibraryPath { get; set; }

    /// <summary>Layers offloaded to the GPU: -1 = all that fit the device, 0 = CPU only.</summary>
    [Range(-1, 100000)]
    public int GpuLayers { get; set; } = -1;

    /// <summary>KV cells of the context in tokens; 0 = the model's training context.</summary>
    [Range(0, 1 << 22)]
    public int ContextSize { get; set; } = 4096;

    [Range(1, 1 << 16)]
    public int BatchSize { get; set; } = 512;

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
        if (!string.IsNullOrWhiteSpace(ModelPath) && !File.Exists(ModelPath))
            errors.Add($"{Section}:ModelPath: '{ModelPath}' does not exist");
        if (!string.IsNullOrWhiteSpace(NativeLibraryPath) && !Directory.Exists(NativeLibraryPath))
            errors.Add($"{Section}:NativeLibraryPath: folder '{NativeLibraryPath}' does not exist");
        if (errors.Count > 0) throw new OptionsValidationError(errors);
        return this;
    }
}

namespace SynthPipeline.Core.Options;

/// <summary>
/// One OpenAI-compatible server the teacher's requests may go to (vLLM, SGLang, TGI, llama-server, Ollama, OpenAI,
/// <c>synth serve</c>): <c>Teacher:Endpoints:N</c>. The API key is never configured itself, only the name of the
/// environment variable that holds it.
/// </summary>
public sealed class TeacherEndpointOptions
{
    /// <summary>A short name for <c>Teacher:Roles</c>, the card and the accounting; default: the endpoint's index.</summary>
    public string? Name { get; set; }

    /// <summary>Price in your currency per million prompt tokens, for the cost in stats.json and the card; empty: no cost.</summary>
    public double? PricePerMillionInput { get; set; }

    /// <summary>Price per million completion tokens.</summary>
    public double? PricePerMillionOutput { get; set; }

    /// <summary>Price per million prompt tokens the server served from its prefix cache; empty: the input price.</summary>
    public double? PricePerMillionCachedInput { get; set; }

    /// <summary>Base URL of the OpenAI-compatible API, e.g. <c>http://gpu-1:8000/v1</c>.</summary>
    public string Url { get; set; } = "";

    /// <summary>The model name the server serves.</summary>
    public string Model { get; set; } = "";

    /// <summary>Environment variable holding the API key; empty for a server that needs none.</summary>
    public string? ApiKeyVariable { get; set; }

    /// <summary>Requests sent to this endpoint at once, at most.</summary>
    public int MaxConcurrent { get; set; } = 16;

    /// <summary>Preference among endpoints with the same number of requests outstanding (higher first).</summary>
    public double Weight { get; set; } = 1;

    /// <summary>How roles, the card and the accounting name the endpoint at index <paramref name="index"/>.</summary>
    public string Label(int index) => Name ?? index.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The problems of this endpoint's settings, each naming its key (<paramref name="key"/> is <c>Teacher:Endpoints:N</c>).</summary>
    public IEnumerable<string> Problems(string key)
    {
        if (!Uri.TryCreate(Url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            yield return $"{key}:Url: '{Url}' is not an http(s) URL; write it whole, e.g. http://localhost:8000/v1";
        if (string.IsNullOrWhiteSpace(Model)) yield return $"{key}:Model: name the model the server serves";
        if (MaxConcurrent < 1) yield return $"{key}:MaxConcurrent: {MaxConcurrent} must be at least 1";
        if (!(Weight > 0)) yield return $"{key}:Weight: {Weight} must be positive";
        foreach (var (name, price) in new[] { ("PricePerMillionInput", PricePerMillionInput), ("PricePerMillionOutput", PricePerMillionOutput), ("PricePerMillionCachedInput", PricePerMillionCachedInput) })
            if (price is { } p && !(p >= 0 && double.IsFinite(p))) yield return $"{key}:{name}: {p} must be zero or more";
        if (Name is not null && (Name.Length == 0 || Name.Contains(',', StringComparison.Ordinal) || Name.Trim() != Name || Name == TeacherOptions.LocalRole))
            yield return $"{key}:Name: '{Name}' must be non-empty, without commas or outer spaces, and not '{TeacherOptions.LocalRole}'";
        if (!string.IsNullOrWhiteSpace(ApiKeyVariable) && string.IsNullOrEmpty(Environment.GetEnvironmentVariable(ApiKeyVariable)))
            yield return $"{key}:ApiKeyVariable: the environment variable {ApiKeyVariable} is not set; export the API key in it";
    }
}

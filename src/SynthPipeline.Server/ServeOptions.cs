using System.Net;
using SynthPipeline.Core.Options;

namespace SynthPipeline.Server;

/// <summary>
/// How <c>synth serve</c> listens: address, port, the API key clients must send, and the model name it answers to.
/// The key is a value read from an environment variable by the caller, never a command-line argument (which other
/// users of the machine can read in the process list).
/// </summary>
public sealed record ServeOptions
{
    /// <summary>Address to bind; loopback unless an API key is set.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>TCP port; 0 picks a free one (tests).</summary>
    public int Port { get; init; } = 8080;

    /// <summary>The bearer token clients must send; null accepts every client (loopback only).</summary>
    public string? ApiKey { get; init; }

    /// <summary>Where the key came from, for error messages (the flag or variable, never the value).</summary>
    public string ApiKeySource { get; init; } = "--api-key";

    /// <summary>The model id reported by <c>/v1/models</c> and in every response.</summary>
    public required string ModelId { get; init; }

    /// <summary>Largest request body accepted, in bytes.</summary>
    public long MaxRequestBytes { get; init; } = 16 << 20;

    /// <summary>True for addresses only this machine can reach.</summary>
    public bool IsLoopback => Host is "localhost" || (IPAddress.TryParse(Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));

    /// <summary>Checks the settings once; errors name the flag at fault.</summary>
    /// <exception cref="OptionsValidationError">A setting is invalid.</exception>
    public ServeOptions Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(Host)) errors.Add("--host: give an address to bind, e.g. 127.0.0.1");
        if (Port is < 0 or > 65535) errors.Add($"--port: {Port} is not a TCP port (0-65535)");
        if (!IsLoopback && string.IsNullOrEmpty(ApiKey))
            errors.Add($"{ApiKeySource}: binding to {Host} lets other machines in; set an API key (--api-key names the environment variable that holds it) or bind to 127.0.0.1");
        if (string.IsNullOrWhiteSpace(ModelId)) errors.Add("--model-id: name the model the server answers to");
        if (errors.Count > 0) throw new OptionsValidationError(errors);
        return this;
    }
}

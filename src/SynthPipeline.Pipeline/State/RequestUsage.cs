using Microsoft.Extensions.AI;
using SynthPipeline.Core.Options;

namespace SynthPipeline.Pipeline.State;

/// <summary>
/// What one answered teacher request used: its stage (prompt template), role, the endpoint that answered
/// (<c>local</c> for the model in this process), prompt, cached and completion tokens, and its cost where the
/// endpoint has prices.
/// </summary>
public sealed record RequestUsage(string Stage, TeacherRole Role, string Endpoint, long InputTokens, long CachedTokens, long OutputTokens, double? Cost)
{
    /// <summary>When the answer arrived (for throughput over time); null when not recorded.</summary>
    public DateTimeOffset? At { get; init; }

    public const string LocalEndpoint = "local";

    /// <summary>Response property naming the endpoint that answered (set by the router).</summary>
    public const string EndpointKey = "endpoint";

    /// <summary>Response property with the answer's cost (set by the router where prices are configured).</summary>
    public const string CostKey = "cost";

    public static RequestUsage Of(string stage, TeacherRole role, ChatResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var properties = response.AdditionalProperties;
        var endpoint = properties?.TryGetValue(EndpointKey, out var e) == true && e is string name ? name : LocalEndpoint;
        double? cost = properties?.TryGetValue(CostKey, out var c) == true && c is not null ? Convert.ToDouble(c, System.Globalization.CultureInfo.InvariantCulture) : null;
        var u = response.Usage;
        return new RequestUsage(stage, role, endpoint, u?.InputTokenCount ?? 0, u?.CachedInputTokenCount ?? 0, u?.OutputTokenCount ?? 0, cost);
    }
}

/// <summary>Totals of <see cref="RequestUsage"/> for one stage, role and endpoint.</summary>
public sealed record UsageTotal(string Stage, TeacherRole Role, string Endpoint, long Requests, long InputTokens, long CachedTokens, long OutputTokens, double? Cost);

/// <summary>Answers and completion tokens that arrived in one time bucket of a run (seconds from its first answer).</summary>
public sealed record ThroughputBucket(double StartSeconds, double WidthSeconds, long Answers, long OutputTokens);

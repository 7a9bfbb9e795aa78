using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.AI;
using SynthPipeline.Llama.Engine;
using SynthPipeline.Llama.Teacher;

namespace SynthPipeline.Server;

/// <summary>
/// <c>synth serve</c>: the batching engine behind an OpenAI-compatible API (ASP.NET Core minimal APIs), so it can join
/// a fleet that a coordinator (or any OpenAI client) drives. Routes: <c>POST /v1/chat/completions</c>,
/// <c>POST /v1/completions</c>, <c>GET /v1/models</c>, <c>GET /health</c>, <c>GET /metrics</c>. With an API key every
/// <c>/v1</c> route needs it as a bearer token; without one the server only binds to loopback.
/// </summary>
public sealed class SynthServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private SynthServer(WebApplication app, ServerCounters counters)
    {
        _app = app;
        Counters = counters;
    }

    /// <summary>The address the server listens on, e.g. <c>http://127.0.0.1:8080</c>; its API is under <c>/v1</c>.</summary>
    public string Address { get; private set; } = "";

    public ServerCounters Counters { get; }

    /// <summary>Builds the server over <paramref name="client"/> (owned by the caller) and starts listening.</summary>
    public static Task<SynthServer> StartAsync(LlamaChatClient client, ServeOptions options, ILoggerFactory loggers, TimeProvider? time = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        return StartAsync(client, client.Metrics, options, loggers, time, cancellationToken);
    }

    /// <summary>The server over any model client, with the engine metrics <c>/metrics</c> reports.</summary>
    internal static async Task<SynthServer> StartAsync(IChatClient client, Func<EngineMetrics> metrics, ServeOptions options, ILoggerFactory loggers,
        TimeProvider? time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggers);
        options.Validate();
        time ??= TimeProvider.System;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.Replace(ServiceDescriptor.Singleton(loggers));
        builder.Services.Replace(ServiceDescriptor.Singleton<Microsoft.Extensions.Hosting.IHostLifetime, CommandOwnedLifetime>());
        var host = options.Host.Contains(':', StringComparison.Ordinal) && !options.Host.StartsWith('[') ? $"[{options.Host}]" : options.Host;
        builder.WebHost.UseUrls($"http://{host}:{options.Port}");
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = options.MaxRequestBytes);
        var app = builder.Build();
        var counters = new ServerCounters();
        var handler = new CompletionHandler(client, options.ModelId, counters, time, loggers.CreateLogger<SynthServer>());
        var key = options.ApiKey is { Length: > 0 } k ? Encoding.UTF8.GetBytes("Bearer " + k) : null;

        app.Use(async (http, next) =>
        {
            if (key is not null && http.Request.Path.StartsWithSegments("/v1", StringComparison.Ordinal)
                && !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(http.Request.Headers.Authorization.ToString()), key))
            {
                counters.Refused();
                await CompletionHandler.WriteErrorAsync(http, 401, "invalid_request_error", null, "invalid_api_key",
                    "missing or wrong API key: send it as 'Authorization: Bearer KEY'").ConfigureAwait(false);
                return;
            }
            await next(http).ConfigureAwait(false);
        });
        app.MapPost("/v1/chat/completions", (HttpContext http) => handler.HandleAsync(http, ServedApi.Chat));
        app.MapPost("/v1/completions", (HttpContext http) => handler.HandleAsync(http, ServedApi.Completion));
        app.MapGet("/v1/models", () => Results.Json(new
        {
            @object = "list",
            data = new[] { new { id = options.ModelId, @object = "model", created = 0, owned_by = "synth" } },
        }));
        app.MapGet("/health", () => Results.Json(new { status = "ok", model = options.ModelId }));
        app.MapGet("/metrics", () => Results.Text(PrometheusMetrics.Render(metrics(), counters, options.ModelId), PrometheusMetrics.ContentType));

        var server = new SynthServer(app, counters);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        server.Address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return server;
    }

    /// <summary>Runs until <paramref name="cancellationToken"/> fires, then stops taking requests and ends those in flight.</summary>
    public async Task WaitAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Ctrl+C: fall through to a graceful stop.
        }
        await _app.StopAsync(CancellationToken.None).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync().ConfigureAwait(false);
}

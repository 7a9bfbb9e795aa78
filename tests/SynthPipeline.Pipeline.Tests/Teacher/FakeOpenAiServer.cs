using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace SynthPipeline.Pipeline.Tests.Teacher;

/// <summary>What the fake server does with a request instead of answering it.</summary>
internal enum Fault
{
    None,
    RateLimited,
    ServerError,
    DroppedStream,
}

/// <summary>
/// An OpenAI-compatible server on loopback (Kestrel, real HTTP): <c>POST /v1/chat/completions</c> streamed (SSE) or
/// not, and <c>GET /v1/models</c>. Answers come from a script of the last user message; <see cref="Faults"/> decides,
/// per request number and prompt, whether to answer with a 429 (retry-after-ms), a 500 or a stream that breaks after
/// its first piece. A key, when set, is required as a bearer token.
/// </summary>
internal sealed class FakeOpenAiServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _requests;

    private FakeOpenAiServer(WebApplication app) => _app = app;

    public string Url { get; private set; } = "";

    public string Model { get; init; } = "fake-model";

    public Func<int, string, Fault> Faults { get; set; } = (_, _) => Fault.None;

    /// <summary>The pause a 429 asks for, in milliseconds (OpenAI's retry-after-ms header).</summary>
    public int RetryAfterMs { get; set; } = 20;

    /// <summary>Chat requests received, faulted ones included.</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Chat requests answered in full.</summary>
    public int Answered;

    /// <summary>Every prompt received, with its route ("chat" or "completions"), in arrival order.</summary>
    public ConcurrentQueue<(string Route, string Prompt)> Prompts { get; } = new();

    /// <summary>Every request body received, as JSON, in arrival order.</summary>
    public ConcurrentQueue<string> Bodies { get; } = new();

    /// <summary>Awaited before a request is answered (after it is counted): lets a test keep a request in flight.</summary>
    public Func<string, Task> Hold { get; set; } = _ => Task.CompletedTask;

    /// <summary>Prompt tokens reported as served from the prefix cache, per answer (usage.prompt_tokens_details.cached_tokens).</summary>
    public int CachedTokens { get; set; }

    /// <summary>Every Authorization header received.</summary>
    public List<string> Authorizations { get; } = [];

    public static async Task<FakeOpenAiServer> StartAsync(Func<string, string> answer, string? key = null, string model = "fake-model")
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var server = new FakeOpenAiServer(app) { Model = model };
        app.MapGet("/v1/models", (HttpContext http) => Authorized(http, key, server)
            ? Results.Json(new { @object = "list", data = new[] { new { id = model, @object = "model", created = 0, owned_by = "test" } } })
            : Unauthorized());
        app.MapPost("/v1/completions", (HttpContext http) => server.AnswerAsync(http, key, answer, completions: true));
        app.MapPost("/v1/chat/completions", (HttpContext http) => server.AnswerAsync(http, key, answer, completions: false));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Url = address + "/v1";
        return server;
    }

    private async Task AnswerAsync(HttpContext http, string? key, Func<string, string> answer, bool completions)
    {
        var server = this;
        var model = Model;
        {
            if (!Authorized(http, key, server))
            {
                await Unauthorized().ExecuteAsync(http);
                return;
            }
            var body = await JsonNode.ParseAsync(http.Request.Body);
            var prompt = completions ? body!["prompt"]!.GetValue<string>() : body!["messages"]!.AsArray().Last()!["content"]!.GetValue<string>();
            var stream = body["stream"]?.GetValue<bool>() == true;
            var includeUsage = body["stream_options"]?["include_usage"]?.GetValue<bool>() == true;
            Prompts.Enqueue((completions ? "completions" : "chat", prompt));
            Bodies.Enqueue(body.ToJsonString());
            var number = Interlocked.Increment(ref server._requests);
            await Hold(prompt);
            var fault = server.Faults(number, prompt);
            if (fault == Fault.RateLimited)
            {
                http.Response.Headers["retry-after-ms"] = server.RetryAfterMs.ToString(System.Globalization.CultureInfo.InvariantCulture);
                http.Response.StatusCode = 429;
                await http.Response.WriteAsJsonAsync(new { error = new { message = "rate limited", type = "rate_limit" } });
                return;
            }
            if (fault == Fault.ServerError)
            {
                http.Response.StatusCode = 500;
                await http.Response.WriteAsJsonAsync(new { error = new { message = "boom", type = "server_error" } });
                return;
            }
            var text = answer(prompt);
            var usage = new { prompt_tokens = prompt.Length / 4, completion_tokens = text.Length / 4, total_tokens = prompt.Length / 4 + text.Length / 4,
                prompt_tokens_details = new { cached_tokens = Math.Min(CachedTokens, prompt.Length / 4) } };
            if (!stream)
            {
                Interlocked.Increment(ref server.Answered);
                await http.Response.WriteAsJsonAsync(new
                {
                    id = "c", @object = "chat.completion", created = 0, model,
                    choices = new[] { new { index = 0, message = new { role = "assistant", content = text }, finish_reason = "stop" } },
                    usage,
                });
                return;
            }
            http.Response.ContentType = "text/event-stream";
            var pieces = Pieces(text).ToList();
            for (var i = 0; i < pieces.Count; i++)
            {
                if (completions) await Send(http, new { id = "c", @object = "text_completion", created = 0, model, choices = new[] { new { index = 0, text = pieces[i], finish_reason = (string?)null } } });
                else await Send(http, new { id = "c", @object = "chat.completion.chunk", created = 0, model, choices = new[] { new { index = 0, delta = new { role = "assistant", content = pieces[i] }, finish_reason = (string?)null } } });
                if (fault == Fault.DroppedStream)
                {
                    http.Abort();
                    return;
                }
            }
            if (completions) await Send(http, new { id = "c", @object = "text_completion", created = 0, model, choices = new[] { new { index = 0, text = "", finish_reason = "stop" } } });
            else await Send(http, new { id = "c", @object = "chat.completion.chunk", created = 0, model, choices = new[] { new { index = 0, delta = new { }, finish_reason = "stop" } } });
            if (includeUsage) await Send(http, new { id = "c", @object = "chat.completion.chunk", created = 0, model, choices = Array.Empty<object>(), usage });
            await http.Response.WriteAsync("data: [DONE]\n\n");
            Interlocked.Increment(ref server.Answered);
        }
    }

    private static bool Authorized(HttpContext http, string? key, FakeOpenAiServer server)
    {
        var header = http.Request.Headers.Authorization.ToString();
        lock (server.Authorizations) server.Authorizations.Add(header);
        return key is null || header == "Bearer " + key;
    }

    private static IResult Unauthorized() => Results.Json(new { error = new { message = "invalid api key", type = "invalid_request_error" } }, statusCode: 401);

    private static IEnumerable<string> Pieces(string text)
    {
        for (var i = 0; i < text.Length; i += 24) yield return text.Substring(i, Math.Min(24, text.Length - i));
        if (text.Length == 0) yield return "";
    }

    private static async Task Send(HttpContext http, object chunk)
    {
        await http.Response.WriteAsync("data: " + JsonSerializer.Serialize(chunk) + "\n\n");
        await http.Response.Body.FlushAsync();
    }

    /// <summary>Stops listening, as a machine that dies mid-run would.</summary>
    public Task StopAsync() => _app.StopAsync();

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}

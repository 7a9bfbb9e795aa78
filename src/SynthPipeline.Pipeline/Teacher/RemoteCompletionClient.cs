using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using OpenAI;
using SynthPipeline.Llama.Teacher;

namespace SynthPipeline.Pipeline.Teacher;

/// <summary>
/// Completion mode against a server (<c>Teacher:Mode = completion</c>): the messages' text is sent as the raw prompt
/// to <c>POST /v1/completions</c>, streamed, through the OpenAI library's client pipeline (its transport,
/// authentication, timeouts and errors; its completions client is not public); only the request body and the event
/// payloads are composed and read here.
/// </summary>
public sealed class RemoteCompletionClient : IChatClient
{
    private readonly ClientPipeline _pipeline;
    private readonly Uri _route;
    private readonly string _model;

    public RemoteCompletionClient(string model, ApiKeyCredential credential, OpenAIClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _pipeline = new OpenAIClient(credential, options).Pipeline;
        _route = new Uri(options.Endpoint!.ToString().TrimEnd('/') + "/completions");
    }

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var body = Body(string.Concat(messages.Select(m => m.Text)), options);
        using var message = _pipeline.CreateMessage();
        message.Request.Method = "POST";
        message.Request.Uri = _route;
        message.Request.Headers.Set("Content-Type", "application/json");
        message.Request.Headers.Set("Accept", "text/event-stream");
        message.Request.Content = BinaryContent.Create(BinaryData.FromString(body.ToJsonString()));
        message.BufferResponse = false;
        message.Apply(new RequestOptions { CancellationToken = cancellationToken });
        await _pipeline.SendAsync(message).ConfigureAwait(false);
        using var response = message.ExtractResponse()!;
        if (response.IsError) throw new ClientResultException(response);
        await foreach (var item in SseParser.Create(response.ContentStream!).EnumerateAsync(cancellationToken).ConfigureAwait(false))
        {
            if (item.Data == "[DONE]") yield break;
            using var chunk = JsonDocument.Parse(item.Data);
            var root = chunk.RootElement;
            if (root.TryGetProperty("error", out var error))
                throw new HttpRequestException($"the server reported an error mid-stream: {error}");
            var update = new ChatResponseUpdate { Role = ChatRole.Assistant, ModelId = _model };
            if (root.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() > 0)
            {
                var choice = choices[0];
                if (choice.TryGetProperty("text", out var text) && text.GetString() is { Length: > 0 } t) update.Contents.Add(new TextContent(t));
                if (choice.TryGetProperty("finish_reason", out var finish) && finish.ValueKind == JsonValueKind.String)
                    update.FinishReason = finish.GetString() == "length" ? ChatFinishReason.Length : ChatFinishReason.Stop;
            }
            if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object) update.Contents.Add(new UsageContent(Usage(usage)));
            if (update.Contents.Count > 0 || update.FinishReason is not null) yield return update;
        }
    }

    private JsonObject Body(string prompt, ChatOptions? options)
    {
        var body = new JsonObject
        {
            ["model"] = _model,
            ["prompt"] = prompt,
            ["stream"] = true,
            ["stream_options"] = new JsonObject { ["include_usage"] = true },
        };
        if (options is null) return body;
        if (options.MaxOutputTokens is { } max) body["max_tokens"] = max;
        if (options.Temperature is { } temperature) body["temperature"] = temperature;
        if (options.TopP is { } topP) body["top_p"] = topP;
        if (options.Seed is { } seed) body["seed"] = seed;
        if (options.PresencePenalty is { } presence) body["presence_penalty"] = presence;
        if (options.FrequencyPenalty is { } frequency) body["frequency_penalty"] = frequency;
        if (options.StopSequences is { Count: > 0 } stop) body["stop"] = new JsonArray([.. stop.Select(s => (JsonNode)s)]);
        ServerExtensions.AddTo(body, options);
        return body;
    }

    internal static UsageDetails Usage(JsonElement usage) => new()
    {
        InputTokenCount = usage.TryGetProperty("prompt_tokens", out var p) ? p.GetInt64() : null,
        OutputTokenCount = usage.TryGetProperty("completion_tokens", out var c) ? c.GetInt64() : null,
        TotalTokenCount = usage.TryGetProperty("total_tokens", out var t) ? t.GetInt64() : null,
        CachedInputTokenCount = usage.TryGetProperty("prompt_tokens_details", out var d) && d.ValueKind == JsonValueKind.Object
            && d.TryGetProperty("cached_tokens", out var cached) && cached.ValueKind == JsonValueKind.Number ? cached.GetInt64() : null,
    };

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }
}

using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace SynthPipeline.Server;

/// <summary>The JSON shapes of OpenAI's API that the server writes: responses, stream chunks, usage and errors.</summary>
internal static class OpenAiJson
{
    public static JsonObject Error(string message, string type, string? param, string? code) => new()
    {
        ["error"] = new JsonObject { ["message"] = message, ["type"] = type, ["param"] = param, ["code"] = code },
    };

    public static JsonObject Usage(UsageDetails? usage)
    {
        var prompt = usage?.InputTokenCount ?? 0;
        var completion = usage?.OutputTokenCount ?? 0;
        return new()
        {
            ["prompt_tokens"] = prompt,
            ["completion_tokens"] = completion,
            ["total_tokens"] = prompt + completion,
            ["prompt_tokens_details"] = new JsonObject { ["cached_tokens"] = usage?.CachedInputTokenCount ?? 0 },
        };
    }

    public static string? Finish(ChatFinishReason? reason) => reason is null ? null : reason == ChatFinishReason.Length ? "length" : "stop";

    /// <summary>A whole answer: a <c>chat.completion</c> or a <c>text_completion</c>.</summary>
    public static JsonObject Response(ServedApi api, string id, long created, string model, string text, ChatFinishReason? finish, UsageDetails? usage)
    {
        var choice = api == ServedApi.Chat
            ? new JsonObject { ["index"] = 0, ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = text }, ["finish_reason"] = Finish(finish) }
            : new JsonObject { ["index"] = 0, ["text"] = text, ["logprobs"] = null, ["finish_reason"] = Finish(finish) };
        return new()
        {
            ["id"] = id,
            ["object"] = api == ServedApi.Chat ? "chat.completion" : "text_completion",
            ["created"] = created,
            ["model"] = model,
            ["choices"] = new JsonArray(choice),
            ["usage"] = Usage(usage),
        };
    }

    /// <summary>One streamed piece; <paramref name="text"/> null with a finish reason is the last choice chunk.</summary>
    public static JsonObject Chunk(ServedApi api, string id, long created, string model, string? text, string? role, ChatFinishReason? finish)
    {
        JsonObject choice;
        if (api == ServedApi.Chat)
        {
            var delta = new JsonObject();
            if (role is not null) delta["role"] = role;
            if (text is not null) delta["content"] = text;
            choice = new JsonObject { ["index"] = 0, ["delta"] = delta, ["finish_reason"] = Finish(finish) };
        }
        else
        {
            choice = new JsonObject { ["index"] = 0, ["text"] = text ?? "", ["logprobs"] = null, ["finish_reason"] = Finish(finish) };
        }
        return Envelope(api, id, created, model, new JsonArray(choice));
    }

    /// <summary>The chunk <c>stream_options.include_usage</c> asks for: no choices, the usage.</summary>
    public static JsonObject UsageChunk(ServedApi api, string id, long created, string model, UsageDetails? usage)
    {
        var chunk = Envelope(api, id, created, model, []);
        chunk["usage"] = Usage(usage);
        return chunk;
    }

    private static JsonObject Envelope(ServedApi api, string id, long created, string model, JsonArray choices) => new()
    {
        ["id"] = id,
        ["object"] = api == ServedApi.Chat ? "chat.completion.chunk" : "text_completion",
        ["created"] = created,
        ["model"] = model,
        ["choices"] = choices,
    };
}

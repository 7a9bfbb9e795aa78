using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using SynthPipeline.Llama.Engine;

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

    /// <summary>A whole answer: a <c>chat.completion</c> or a <c>text_completion</c>, one choice per generated text.</summary>
    public static JsonObject Response(ServedApi api, string id, long created, string model,
        IReadOnlyList<(string Text, ChatFinishReason? Finish, IReadOnlyList<TokenLogprob>? Logprobs)> choices, UsageDetails? usage)
    {
        var array = new JsonArray();
        for (var i = 0; i < choices.Count; i++)
        {
            var (text, finish, logprobs) = choices[i];
            array.Add(api == ServedApi.Chat
                ? new JsonObject
                {
                    ["index"] = i, ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = text }, ["logprobs"] = Logprobs(api, logprobs),
                    ["finish_reason"] = Finish(finish),
                }
                : new JsonObject { ["index"] = i, ["text"] = text, ["logprobs"] = Logprobs(api, logprobs), ["finish_reason"] = Finish(finish) });
        }
        return new()
        {
            ["id"] = id,
            ["object"] = api == ServedApi.Chat ? "chat.completion" : "text_completion",
            ["created"] = created,
            ["model"] = model,
            ["choices"] = array,
            ["usage"] = Usage(usage),
        };
    }

    /// <summary>
    /// The usage of a request's choices together: the prompt once (as OpenAI counts it for <c>n</c> above 1; the
    /// choices share its KV), the completions summed.
    /// </summary>
    public static UsageDetails? Combined(IReadOnlyList<UsageDetails?> choices)
    {
        if (choices.Count == 1) return choices[0];
        var first = choices.FirstOrDefault(u => u is not null);
        if (first is null) return null;
        return new UsageDetails
        {
            InputTokenCount = first.InputTokenCount,
            CachedInputTokenCount = first.CachedInputTokenCount,
            OutputTokenCount = choices.Sum(u => u?.OutputTokenCount ?? 0),
        };
    }

    /// <summary>
    /// One streamed piece of choice <paramref name="index"/>; <paramref name="text"/> null with a finish reason is that
    /// choice's last chunk, which carries the log-probabilities of all its tokens when they were asked for.
    /// </summary>
    public static JsonObject Chunk(ServedApi api, string id, long created, string model, int index, string? text, string? role, ChatFinishReason? finish,
        IReadOnlyList<TokenLogprob>? logprobs = null)
    {
        JsonObject choice;
        if (api == ServedApi.Chat)
        {
            var delta = new JsonObject();
            if (role is not null) delta["role"] = role;
            if (text is not null) delta["content"] = text;
            choice = new JsonObject { ["index"] = index, ["delta"] = delta, ["logprobs"] = Logprobs(api, logprobs), ["finish_reason"] = Finish(finish) };
        }
        else
        {
            choice = new JsonObject { ["index"] = index, ["text"] = text ?? "", ["logprobs"] = Logprobs(api, logprobs), ["finish_reason"] = Finish(finish) };
        }
        return Envelope(api, id, created, model, new JsonArray(choice));
    }

    /// <summary>
    /// Tokens' log-probabilities in the route's shape: chat's <c>{content: [{token, logprob, bytes, top_logprobs}]}</c>,
    /// or the completions API's <c>{tokens, token_logprobs, top_logprobs, text_offset}</c>; null when none were asked for.
    /// </summary>
    public static JsonNode? Logprobs(ServedApi api, IReadOnlyList<TokenLogprob>? logprobs)
    {
        if (logprobs is null) return null;
        if (api == ServedApi.Chat)
        {
            static JsonObject Entry(TokenAlternative a) => new() { ["token"] = a.Text, ["logprob"] = a.Logprob, ["bytes"] = new JsonArray([.. a.Bytes.Select(b => (JsonNode)(int)b)]) };
            var content = new JsonArray();
            foreach (var t in logprobs)
            {
                var entry = Entry(t.Chosen);
                entry["top_logprobs"] = new JsonArray([.. t.Top.Select(a => (JsonNode)Entry(a))]);
                content.Add(entry);
            }
            return new JsonObject { ["content"] = content };
        }
        var offsets = new JsonArray();
        var offset = 0;
        foreach (var t in logprobs)
        {
            offsets.Add(offset);
            offset += t.Chosen.Text.Length;
        }
        return new JsonObject
        {
            ["tokens"] = new JsonArray([.. logprobs.Select(t => (JsonNode)t.Chosen.Text)]),
            ["token_logprobs"] = new JsonArray([.. logprobs.Select(t => (JsonNode)t.Chosen.Logprob)]),
            // A dictionary by text, as the legacy API has it: alternatives whose texts are equal keep the likelier.
            ["top_logprobs"] = new JsonArray([.. logprobs.Select(t => (JsonNode)TopByText(t.Top))]),
            ["text_offset"] = offsets,
        };
    }

    private static JsonObject TopByText(IReadOnlyList<TokenAlternative> top)
    {
        var byText = new JsonObject();
        foreach (var a in top) byText.TryAdd(a.Text, a.Logprob);
        return byText;
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

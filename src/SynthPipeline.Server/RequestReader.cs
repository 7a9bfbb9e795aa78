using System.Text.Json;
using Microsoft.Extensions.AI;
using SynthPipeline.Llama;
using SynthPipeline.Llama.Engine;
using SynthPipeline.Llama.Teacher;

namespace SynthPipeline.Server;

/// <summary>
/// Reads an OpenAI request body into a <see cref="ServedRequest"/>, refusing anything it cannot honour with an
/// <see cref="InvalidRequestException"/> that names the field: a wrong type, a value out of range, <c>n</c> outside 1 to
/// <see cref="MaxChoices"/>, a JSON schema the grammar compiler does not support, or a feature it does not have (logit
/// biases, tools). Unknown fields are ignored, as vLLM and llama-server do.
/// </summary>
public static class RequestReader
{
    private const int MaxStopSequences = 4;

    /// <summary>The most choices one request may ask for (<c>n</c>), as OpenAI's API allows.</summary>
    public const int MaxChoices = 128;

    public static ServedRequest ReadChat(JsonElement body)
    {
        RequireObject(body);
        if (!body.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
            throw new InvalidRequestException("messages", "'messages' is required and must be an array of {role, content}");
        if (messages.GetArrayLength() == 0) throw new InvalidRequestException("messages", "'messages' must hold at least one message");
        var list = new List<ChatMessage>();
        var i = 0;
        foreach (var message in messages.EnumerateArray())
        {
            var at = $"messages[{i++}]";
            if (message.ValueKind != JsonValueKind.Object) throw new InvalidRequestException(at, $"'{at}' must be an object with 'role' and 'content'");
            var role = message.TryGetProperty("role", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString()! : null;
            if (role is not ("system" or "developer" or "user" or "assistant"))
                throw new InvalidRequestException(at + ".role", $"'{at}.role' must be one of system, developer, user, assistant");
            list.Add(new ChatMessage(role == "developer" ? ChatRole.System : new ChatRole(role), Content(message, at)));
        }
        var options = Sampling(body);
        // Chat: logprobs is a switch and top_logprobs the alternatives; completions: logprobs is the count.
        var top = Int(body, "top_logprobs");
        if (top is < 0 or > TokenLogprob.MaxTop) throw new InvalidRequestException("top_logprobs", $"'top_logprobs' is {top}; it must be between 0 and {TokenLogprob.MaxTop}");
        var logprobs = Bool(body, "logprobs") == true;
        if (top > 0 && !logprobs) throw new InvalidRequestException("top_logprobs", "'top_logprobs' needs 'logprobs': true");
        if (logprobs) (options.AdditionalProperties ??= [])[ChatOptionsMapper.TopLogprobsKey] = top ?? 0;
        options.ResponseFormat = null;
        ResponseFormat(body, options);
        return new ServedRequest(ServedApi.Chat, list, options, Bool(body, "stream") ?? false, IncludeUsage(body)) { Choices = Choices(body) };
    }

    public static ServedRequest ReadCompletion(JsonElement body)
    {
        RequireObject(body);
        if (!body.TryGetProperty("prompt", out var prompt)) throw new InvalidRequestException("prompt", "'prompt' is required");
        string text;
        if (prompt.ValueKind == JsonValueKind.String) text = prompt.GetString()!;
        else if (prompt.ValueKind == JsonValueKind.Array && prompt.GetArrayLength() == 1 && prompt[0].ValueKind == JsonValueKind.String) text = prompt[0].GetString()!;
        else throw new InvalidRequestException("prompt", "'prompt' must be a string (or an array holding one string); batches of prompts are sent as separate requests");
        if (Bool(body, "echo") == true) throw new InvalidRequestException("echo", "'echo' is not supported");
        if (body.TryGetProperty("suffix", out var suffix) && suffix.ValueKind == JsonValueKind.String && suffix.GetString()!.Length > 0)
            throw new InvalidRequestException("suffix", "'suffix' (fill-in-the-middle) is not supported");
        var options = Sampling(body);
        (options.AdditionalProperties ??= [])[ChatOptionsMapper.RawPromptKey] = true;
        if (Int(body, "logprobs") is { } logprobs)
        {
            if (logprobs is < 0 or > TokenLogprob.MaxTop) throw new InvalidRequestException("logprobs", $"'logprobs' is {logprobs}; it must be between 0 and {TokenLogprob.MaxTop}");
            options.AdditionalProperties[ChatOptionsMapper.TopLogprobsKey] = logprobs;
        }
        return new ServedRequest(ServedApi.Completion, [new ChatMessage(ChatRole.User, text)], options, Bool(body, "stream") ?? false, IncludeUsage(body))
        {
            Choices = Choices(body),
        };
    }

    private static ChatOptions Sampling(JsonElement body)
    {
        RefuseUnsupported(body);
        var maxTokens = Int(body, "max_completion_tokens") ?? Int(body, "max_tokens");
        if (maxTokens is < 1) throw new InvalidRequestException(body.TryGetProperty("max_completion_tokens", out _) ? "max_completion_tokens" : "max_tokens", $"must be at least 1, not {maxTokens}");
        var options = new ChatOptions
        {
            MaxOutputTokens = maxTokens,
            Temperature = Number(body, "temperature", 0, 2),
            TopP = Number(body, "top_p", 0, 1),
            TopK = Int(body, "top_k"),
            PresencePenalty = Number(body, "presence_penalty", -2, 2),
            FrequencyPenalty = Number(body, "frequency_penalty", -2, 2),
            Seed = Long(body, "seed"),
            StopSequences = Stop(body),
        };
        if (options.TopP is 0) throw new InvalidRequestException("top_p", "'top_p' must be above 0 (1 keeps every token)");
        if (options.TopK is < 0) throw new InvalidRequestException("top_k", "'top_k' must be 0 (off) or more");
        if (Number(body, "min_p", 0, 0.999f) is { } minP) (options.AdditionalProperties ??= [])[ChatOptionsMapper.MinPKey] = minP;
        // vLLM's priority: among waiting requests, lower is admitted first.
        if (Int(body, "priority") is { } priority) (options.AdditionalProperties ??= [])[ChatOptionsMapper.PriorityKey] = priority;
        if (body.TryGetProperty("grammar", out var grammar) && grammar.ValueKind != JsonValueKind.Null)
        {
            if (grammar.ValueKind != JsonValueKind.String) throw new InvalidRequestException("grammar", "'grammar' must be a GBNF grammar as a string");
            (options.AdditionalProperties ??= [])[ChatOptionsMapper.GrammarKey] = grammar.GetString();
        }
        return options;
    }

    private static void ResponseFormat(JsonElement body, ChatOptions options)
    {
        if (!body.TryGetProperty("response_format", out var format) || format.ValueKind == JsonValueKind.Null) return;
        var type = format.ValueKind == JsonValueKind.Object && format.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        string? grammar;
        switch (type)
        {
            case "text":
                return;
            case "json_object":
                grammar = JsonGrammars.BoundedObject;
                break;
            case "json_schema":
                if (!format.TryGetProperty("json_schema", out var js) || js.ValueKind != JsonValueKind.Object || !js.TryGetProperty("schema", out var schema))
                    throw new InvalidRequestException("response_format.json_schema.schema", "'response_format.json_schema.schema' is required for type json_schema");
                try
                {
                    grammar = JsonSchemaGrammar.FromSchema(schema);
                }
                catch (UnsupportedSchemaException e)
                {
                    throw new InvalidRequestException("response_format.json_schema.schema", e.Message);
                }
                break;
            default:
                throw new InvalidRequestException("response_format.type", "'response_format.type' must be text, json_object or json_schema");
        }
        if (options.AdditionalProperties?.ContainsKey(ChatOptionsMapper.GrammarKey) == true)
            throw new InvalidRequestException("grammar", "give 'grammar' or a JSON 'response_format', not both");
        (options.AdditionalProperties ??= [])[ChatOptionsMapper.GrammarKey] = grammar;
    }

    private static string Content(JsonElement message, string at)
    {
        if (!message.TryGetProperty("content", out var content) || content.ValueKind == JsonValueKind.Null)
            throw new InvalidRequestException(at + ".content", $"'{at}.content' is required");
        if (content.ValueKind == JsonValueKind.String) return content.GetString()!;
        if (content.ValueKind != JsonValueKind.Array) throw new InvalidRequestException(at + ".content", $"'{at}.content' must be a string or an array of text parts");
        var text = new System.Text.StringBuilder();
        var j = 0;
        foreach (var part in content.EnumerateArray())
        {
            var partAt = $"{at}.content[{j++}]";
            if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || type.GetString() != "text"
                || !part.TryGetProperty("text", out var value) || value.ValueKind != JsonValueKind.String)
                throw new InvalidRequestException(partAt, $"'{partAt}' must be a text part ({{\"type\": \"text\", \"text\": ...}}); this server reads text only");
            text.Append(value.GetString());
        }
        return text.ToString();
    }

    /// <summary>
    /// Fields that ask for something this server does not do are refused rather than ignored: an answer without the
    /// biases or tool calls a client asked for would look like one that honoured them.
    /// </summary>
    private static void RefuseUnsupported(JsonElement body)
    {
        if (body.TryGetProperty("logit_bias", out var bias) && bias.ValueKind == JsonValueKind.Object && bias.EnumerateObject().Any())
            throw new InvalidRequestException("logit_bias", "'logit_bias' is not supported: use 'grammar' or a JSON 'response_format' to constrain the answer");
        foreach (var name in (ReadOnlySpan<string>)["tools", "functions"])
            if (body.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array && v.GetArrayLength() > 0)
                throw new InvalidRequestException(name, $"'{name}' is not supported: synth serve does not make tool calls");
        if (body.TryGetProperty("tool_choice", out var choice) && choice.ValueKind != JsonValueKind.Null && !(choice.ValueKind == JsonValueKind.String && choice.GetString() == "none"))
            throw new InvalidRequestException("tool_choice", "'tool_choice' is not supported: synth serve does not make tool calls");
        if (Int(body, "best_of") is > 1) throw new InvalidRequestException("best_of", "'best_of' is not supported: ask for 'n' answers and choose among them");
    }

    private static int Choices(JsonElement body) => Int(body, "n") switch
    {
        null => 1,
        >= 1 and <= MaxChoices and var n => n,
        var n => throw new InvalidRequestException("n", $"'n' is {n}; it must be between 1 and {MaxChoices}"),
    };

    private static List<string>? Stop(JsonElement body)
    {
        if (!body.TryGetProperty("stop", out var stop) || stop.ValueKind == JsonValueKind.Null) return null;
        if (stop.ValueKind == JsonValueKind.String) return [stop.GetString()!];
        if (stop.ValueKind != JsonValueKind.Array || stop.GetArrayLength() > MaxStopSequences || stop.EnumerateArray().Any(s => s.ValueKind != JsonValueKind.String || s.GetString()!.Length == 0))
            throw new InvalidRequestException("stop", $"'stop' must be a string or an array of up to {MaxStopSequences} non-empty strings");
        return [.. stop.EnumerateArray().Select(s => s.GetString()!)];
    }

    private static bool IncludeUsage(JsonElement body) =>
        body.TryGetProperty("stream_options", out var o) && o.ValueKind == JsonValueKind.Object && Bool(o, "include_usage", "stream_options.include_usage") == true;

    private static void RequireObject(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object) throw new InvalidRequestException(null, "the request body must be a JSON object");
    }

    private static bool? Bool(JsonElement body, string name, string? param = null)
    {
        if (!body.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new InvalidRequestException(param ?? name, $"'{param ?? name}' must be true or false"),
        };
    }

    private static int? Int(JsonElement body, string name)
    {
        if (!body.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i : throw new InvalidRequestException(name, $"'{name}' must be an integer");
    }

    private static long? Long(JsonElement body, string name)
    {
        if (!body.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var i) ? i : throw new InvalidRequestException(name, $"'{name}' must be an integer");
    }

    private static float? Number(JsonElement body, string name, float min, float max)
    {
        if (!body.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out var d) || !double.IsFinite(d))
            throw new InvalidRequestException(name, $"'{name}' must be a number");
        return d >= min && d <= max ? (float)d : throw new InvalidRequestException(name, $"'{name}' is {d}; it must be between {min} and {max}");
    }
}

#pragma warning disable SCME0001 // JsonPatch is the OpenAI client's one way to add fields it does not model (llama-server's grammar)
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using OpenAI.Chat;
using SynthPipeline.Llama.Teacher;

namespace SynthPipeline.Pipeline.Teacher;

/// <summary>
/// Request fields beyond OpenAI's that llama-server, vLLM and <c>synth serve</c> read: <c>grammar</c> (GBNF) and
/// <c>min_p</c>. The run's demo grammars and constraints reach a server this way; OpenAI itself ignores nothing
/// here only because a run never sets them for it (grammars are on for the demo model only).
/// </summary>
public static class ServerExtensions
{
    /// <summary>Adds the extension fields of <paramref name="options"/> to a request body.</summary>
    public static void AddTo(JsonObject body, ChatOptions options)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(options);
        if (Get(options, ChatOptionsMapper.GrammarKey) is string grammar) body["grammar"] = grammar;
        if (MinP(options) is { } minP) body["min_p"] = minP;
    }

    /// <summary><see cref="ChatClientBuilder"/> step: chat requests to an endpoint carry the extension fields.</summary>
    public static ChatClientBuilder UseServerExtensions(this ChatClientBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Use(inner => new ServerExtensionsChatClient(inner));
    }

    /// <summary>min_p when it does something: 0 is off and is not sent, so OpenAI itself (which knows no min_p) is not offended.</summary>
    private static double? MinP(ChatOptions options) =>
        Get(options, ChatOptionsMapper.MinPKey) is { } v && Convert.ToDouble(v, System.Globalization.CultureInfo.InvariantCulture) is var p && p > 0 ? p : null;

    private static object? Get(ChatOptions options, string key) => options.AdditionalProperties?.TryGetValue(key, out var v) == true ? v : null;

    /// <summary>Sets the extension fields on the OpenAI request through its JSON patch, leaving everything else to the client.</summary>
    private sealed class ServerExtensionsChatClient(IChatClient inner) : DelegatingChatClient(inner)
    {
        public override Task<ChatResponse> GetResponseAsync(IEnumerable<Microsoft.Extensions.AI.ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            base.GetResponseAsync(messages, With(options), cancellationToken);

        public override IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<Microsoft.Extensions.AI.ChatMessage> messages, ChatOptions? options = null,
            CancellationToken cancellationToken = default) =>
            base.GetStreamingResponseAsync(messages, With(options), cancellationToken);

        private static ChatOptions? With(ChatOptions? options)
        {
            if (options is null) return null;
            var grammar = Get(options, ChatOptionsMapper.GrammarKey) as string;
            var minP = MinP(options);
            if (grammar is null && minP is null) return options;
            var copy = options.Clone();
            var previous = options.RawRepresentationFactory;
            copy.RawRepresentationFactory = client =>
            {
                var raw = previous?.Invoke(client) as ChatCompletionOptions ?? new ChatCompletionOptions();
                if (grammar is not null) raw.Patch.Set("$.grammar"u8, grammar);
                if (minP is { } p) raw.Patch.Set("$.min_p"u8, p);
                return raw;
            };
            return copy;
        }
    }
}

using Microsoft.Extensions.AI;
using SynthPipeline.Llama.Teacher;

namespace SynthPipeline.Pipeline.Teacher;

/// <summary>
/// Completion mode on the local model (<c>Teacher:Mode = completion</c>): every request's text is the prompt as it is,
/// with no chat template, as a base model expects it.
/// </summary>
public sealed class RawPromptChatClient(IChatClient inner) : DelegatingChatClient(inner)
{
    public override Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        base.GetResponseAsync(messages, Raw(options), cancellationToken);

    public override IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        CancellationToken cancellationToken = default) =>
        base.GetStreamingResponseAsync(messages, Raw(options), cancellationToken);

    /// <summary>The model is not ours to dispose: the session that loaded it does.</summary>
    protected override void Dispose(bool disposing)
    {
    }

    private static ChatOptions Raw(ChatOptions? options)
    {
        var copy = options?.Clone() ?? new ChatOptions();
        copy.AdditionalProperties = copy.AdditionalProperties is null ? [] : new(copy.AdditionalProperties);
        copy.AdditionalProperties[ChatOptionsMapper.RawPromptKey] = true;
        return copy;
    }
}

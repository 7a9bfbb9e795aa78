using Microsoft.Extensions.AI;
using SynthPipeline.Llama.Teacher;

namespace SynthPipeline.Pipeline.Teacher.Rehearsal;

/// <summary>
/// A rehearsal of a run on a model whose own text is noise (random weights of a real shape): each request the
/// <see cref="RehearsalScript"/> knows gets its answer forced token by token (<see cref="ChatOptionsMapper.ForcedAnswerKey"/>),
/// while the engine still decodes and samples every token. The run then sends the requests, in the lengths and
/// numbers, that a chat teacher's answers would cause, at the cost this model and machine take for them.
/// A scripted request drops its grammar (the script's answer is in shape already); requests for a JSON format, and
/// kinds without a script (augment's and evaluation's), go through unchanged.
/// </summary>
public sealed class RehearsalChatClient(IChatClient inner, RehearsalScript script) : DelegatingChatClient(inner)
{
    private long _scripted;
    private long _unscripted;

    /// <summary>Requests answered from the script so far.</summary>
    public long Scripted => Interlocked.Read(ref _scripted);

    /// <summary>Requests the model answered itself so far.</summary>
    public long Unscripted => Interlocked.Read(ref _unscripted);

    public override Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var list = messages as IReadOnlyList<ChatMessage> ?? [.. messages];
        return base.GetResponseAsync(list, Script(list, options), cancellationToken);
    }

    public override IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        var list = messages as IReadOnlyList<ChatMessage> ?? [.. messages];
        return base.GetStreamingResponseAsync(list, Script(list, options), cancellationToken);
    }

    /// <summary>The model is not ours to dispose: the session that loaded it does.</summary>
    protected override void Dispose(bool disposing)
    {
    }

    private ChatOptions? Script(IReadOnlyList<ChatMessage> messages, ChatOptions? options)
    {
        var kind = options?.AdditionalProperties?.TryGetValue(TeacherRequests.KindKey, out var k) == true ? k as string : null;
        var answer = options?.ResponseFormat is ChatResponseFormatJson || messages.Count == 0 ? null : script.Answer(kind, messages[^1].Text, options?.Seed);
        if (answer is null)
        {
            Interlocked.Increment(ref _unscripted);
            return options;
        }
        Interlocked.Increment(ref _scripted);
        var copy = options!.Clone();
        copy.AdditionalProperties = new(copy.AdditionalProperties!) { [ChatOptionsMapper.ForcedAnswerKey] = answer };
        // The script's answer is already in shape; a grammar (the demo model's) would advance on the sampled tokens instead.
        copy.AdditionalProperties.Remove(ChatOptionsMapper.GrammarKey);
        return copy;
    }
}

/// <summary>Adds <see cref="RehearsalChatClient"/> to a chat client pipeline.</summary>
public static class RehearsalChatClientBuilderExtensions
{
    /// <summary>Forces the answers <paramref name="script"/> knows (see <see cref="RehearsalChatClient"/>).</summary>
    public static ChatClientBuilder UseRehearsal(this ChatClientBuilder builder, RehearsalScript script)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(script);
        return builder.Use(inner => new RehearsalChatClient(inner, script));
    }
}

using Microsoft.Extensions.AI;

namespace SynthPipeline.Server;

/// <summary>Which OpenAI route a request came in on; it decides the response's shape.</summary>
public enum ServedApi
{
    /// <summary><c>POST /v1/chat/completions</c>: messages through the chat template.</summary>
    Chat,

    /// <summary><c>POST /v1/completions</c>: a raw prompt, no template.</summary>
    Completion,
}

/// <summary>A validated request: what to generate and how to answer.</summary>
/// <param name="Api">The route, which decides the response shape.</param>
/// <param name="Messages">The conversation (for a completion, one message holding the raw prompt).</param>
/// <param name="Options">Sampling, limits, stop sequences and constraints for the engine.</param>
/// <param name="Stream">Answer as server-sent events.</param>
/// <param name="IncludeUsage">With <see cref="Stream"/>: end with a chunk carrying the token usage.</param>
public sealed record ServedRequest(ServedApi Api, IReadOnlyList<ChatMessage> Messages, ChatOptions Options, bool Stream, bool IncludeUsage);

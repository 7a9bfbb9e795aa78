using Microsoft.Extensions.AI;
using SynthPipeline.Llama;

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
public sealed record ServedRequest(ServedApi Api, IReadOnlyList<ChatMessage> Messages, ChatOptions Options, bool Stream, bool IncludeUsage)
{
    /// <summary>Answers to generate for the one prompt (OpenAI's <c>n</c>): separate sequences sharing the prompt's KV.</summary>
    public int Choices { get; init; } = 1;

    /// <summary>
    /// The options of choice <paramref name="index"/>: with a seed, choice i samples with seed + i, so that the choices
    /// differ and the request as a whole is reproducible (vLLM's <c>n</c> with a seed is too); without one, each draws its own.
    /// </summary>
    public ChatOptions OptionsFor(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        if (index == 0 || Options.Seed is not { } seed || unchecked((uint)seed) == SamplingSettings.RandomSeed) return Options;
        var options = Options.Clone();
        // Modulo 2^32 - 1 keeps every choice's seed distinct and off the value that means "draw one".
        options.Seed = (long)(((ulong)unchecked((uint)seed) + (ulong)index) % SamplingSettings.RandomSeed);
        return options;
    }
}

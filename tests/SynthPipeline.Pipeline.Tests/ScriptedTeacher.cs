using System.Collections.Concurrent;
using Microsoft.Extensions.AI;

namespace SynthPipeline.Pipeline.Tests;

/// <summary>
/// A teacher whose answers a test writes as a function of the prompt, so stage logic can be checked exactly; every
/// prompt it was asked is kept.
/// </summary>
internal sealed class ScriptedTeacher(Func<string, string> answer) : IChatClient
{
    public ConcurrentQueue<string> Prompts { get; } = new();

    /// <summary>The options of every request, in the order they were asked.</summary>
    public ConcurrentQueue<ChatOptions?> Options { get; } = new();

    /// <summary>This teacher's answer to <paramref name="prompt"/>, without recording it.</summary>
    public string Answer(string prompt) => answer(prompt);

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var prompt = messages.Last().Text;
        Prompts.Enqueue(prompt);
        Options.Enqueue(options);
        var text = answer(prompt);
        return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, text))
        {
            FinishReason = ChatFinishReason.Stop, Usage = new UsageDetails { OutputTokenCount = text.Length / 4 },
        });
    }

    /// <summary>The whole answer as one update, so the run's stall-detecting middleware (which streams) can wrap this teacher.</summary>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var response = await GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        foreach (var update in response.ToChatResponseUpdates()) yield return update;
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }

    /// <summary>The value after "label:" on the prompt line that starts with it.</summary>
    public static string Field(string prompt, string label) =>
        prompt.Split('\n').First(l => l.StartsWith(label + ":", StringComparison.Ordinal))[(label.Length + 1)..].Trim();

    /// <summary>
    /// A teacher that behaves like a good one on the test corpus: questions about each chunk's first sentence, a
    /// grounding judge that rejects answers mentioning "Mars", a correct negative example unless the passage says
    /// "sloppy", refusals that point to a status page unless the topic is prices.
    /// </summary>
    public static ScriptedTeacher Good() => new(prompt =>
    {
        if (prompt.Contains("You are writing study questions", StringComparison.Ordinal))
            return "Question: What rises twice a day?\nAnswer: The tide.\n\nQuestion: What pulls the water?\nAnswer: Mars pulls it.\n\nQuestion: What rises twice a day?\nAnswer: Again the tide.";
        if (prompt.Contains("You check whether an answer is supported", StringComparison.Ordinal))
            return Field(prompt, "Answer").Contains("Mars", StringComparison.Ordinal) ? "Supported: NO\nReason: the passage names the Moon, not Mars." : "Supported: YES\nReason: stated.";
        if (prompt.Contains("Write a question that a confused user might ask", StringComparison.Ordinal))
            return prompt.Contains("sloppy", StringComparison.Ordinal)
                ? "Question: Why does the tide rise once a day?\nFalse premise: once a day; the source says twice.\nFlawed answer: Because of the Moon.\nCorrect answer: The tide rises because of the Moon."
                : "Question: Why does the tide rise once a day?\nFalse premise: once a day; the source says twice.\nFlawed answer: Because the Moon passes once.\nCorrect answer: No, actually the tide rises twice a day, because the Moon's pull makes two bulges.";
        if (prompt.Contains("in which a user's question rests on a false premise", StringComparison.Ordinal))
            return "Contradicts: YES\nCorrects: YES\nReason: corrects the premise.";
        if (prompt.Contains("is material from a subject area", StringComparison.Ordinal))
            return "Question: How high is the tide right now?\nReply: I can't give a reliable figure: it changes by the minute. " +
                   (prompt.Contains("about prices", StringComparison.Ordinal) ? "Sorry." : "Please check the harbour's live tide gauge.");
        if (prompt.Contains("in which the assistant should decline", StringComparison.Ordinal))
            return "Volatile: YES\nDeclines: YES\nPoints: " + (Field(prompt, "Reply").Contains("check", StringComparison.Ordinal) ? "YES" : "NO") + "\nReason: ok.";
        throw new InvalidOperationException("unexpected prompt: " + prompt[..Math.Min(80, prompt.Length)]);
    });
}

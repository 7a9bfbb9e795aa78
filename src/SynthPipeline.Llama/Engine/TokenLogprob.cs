using System.Text;
using LLama.Native;

namespace SynthPipeline.Llama.Engine;

/// <summary>A token and its log-probability under the model (the raw distribution: before temperature, cuts or penalties).</summary>
/// <param name="Token">The token id.</param>
/// <param name="Bytes">The token's text as UTF-8 bytes (a token may hold part of a character).</param>
/// <param name="Logprob">ln p(token) under the softmax of the whole row of logits.</param>
public sealed record TokenAlternative(int Token, byte[] Bytes, float Logprob)
{
    /// <summary>The token's text (a partial character becomes U+FFFD).</summary>
    public string Text => Encoding.UTF8.GetString(Bytes);
}

/// <summary>A generated token's log-probability and the most likely tokens at its position.</summary>
/// <param name="Chosen">The generated token.</param>
/// <param name="Top">The most likely tokens at this position, most likely first (as many as the request asked for).</param>
public sealed record TokenLogprob(TokenAlternative Chosen, IReadOnlyList<TokenAlternative> Top)
{
    /// <summary>The most alternatives a request may ask for (OpenAI's and vLLM's limit for chat).</summary>
    public const int MaxTop = 20;

    /// <summary>
    /// The log-probability of <paramref name="token"/> and the <paramref name="top"/> most likely tokens under the
    /// softmax of <paramref name="logits"/>: ln p = logit − (max + ln Σ exp(logit − max)), the sum in double precision.
    /// </summary>
    public static TokenLogprob Of(ReadOnlySpan<float> logits, int token, int top, LlamaVocab vocab)
    {
        ArgumentNullException.ThrowIfNull(vocab);
        ArgumentOutOfRangeException.ThrowIfNegative(top);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(top, MaxTop);
        Span<LLamaTokenData> best = stackalloc LLamaTokenData[MaxTop];
        var found = TopCandidates.Select(logits, Math.Max(top, 1), best);
        var max = best[0].Logit;
        var logZ = max + Math.Log(TopCandidates.SumOfExponentials(logits, max));
        var alternatives = new TokenAlternative[Math.Min(top, found)];
        for (var i = 0; i < alternatives.Length; i++) alternatives[i] = Alternative((int)best[i].ID, logits, logZ, vocab);
        return new TokenLogprob(Alternative(token, logits, logZ, vocab), alternatives);
    }

    private static TokenAlternative Alternative(int id, ReadOnlySpan<float> logits, double logZ, LlamaVocab vocab) =>
        new(id, vocab.TokenBytes(id, special: true), (float)(logits[id] - logZ));
}

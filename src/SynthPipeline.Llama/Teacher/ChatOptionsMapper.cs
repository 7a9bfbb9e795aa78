using System.Globalization;
using Microsoft.Extensions.AI;

namespace SynthPipeline.Llama.Teacher;

/// <summary>
/// Maps <see cref="ChatOptions"/> onto llama.cpp sampling. Beyond the standard properties it reads
/// <c>AdditionalProperties</c>: <c>grammar</c> (GBNF), <c>min_p</c>, <c>repeat_penalty</c>, <c>ignore_eos</c>, <c>raw_prompt</c>,
/// <c>forced_answer</c>, <c>priority</c>, <c>top_logprobs</c>.
/// A JSON response format selects a grammar generated from its schema (<see cref="JsonSchemaGrammar"/>), or
/// <see cref="JsonGrammars.BoundedObject"/> when it has none.
/// </summary>
public static class ChatOptionsMapper
{
    public const string GrammarKey = "grammar";
    public const string MinPKey = "min_p";
    public const string RepeatPenaltyKey = "repeat_penalty";
    public const string IgnoreEosKey = "ignore_eos";

    /// <summary>
    /// The messages' text is the prompt itself, sent without the chat template (completion mode, for base models and
    /// <c>/v1/completions</c>).
    /// </summary>
    public const string RawPromptKey = "raw_prompt";

    /// <summary>
    /// Text the answer is to be, token for token, whatever the model samples (see
    /// <see cref="Engine.GenerationRequest.ForcedTokens"/>): a rehearsal on a model whose own text is noise.
    /// </summary>
    public const string ForcedAnswerKey = "forced_answer";

    /// <summary>Admission order among waiting requests: lower first (vLLM's <c>priority</c>); 0 when absent.</summary>
    public const string PriorityKey = "priority";

    /// <summary>
    /// Report each generated token's log-probability with this many alternatives (0 to 20; see
    /// <see cref="Engine.GenerationRequest.TopLogprobs"/>); the answer then carries them under <see cref="LogprobsKey"/>.
    /// </summary>
    public const string TopLogprobsKey = "top_logprobs";

    /// <summary>
    /// Where an answer (a <c>ChatResponse</c>, or the last update of a stream) carries its tokens' log-probabilities:
    /// an <c>IReadOnlyList&lt;TokenLogprob&gt;</c>, one entry per generated token.
    /// </summary>
    public const string LogprobsKey = "logprobs";

    /// <summary>The alternatives asked for with each token's log-probability, or null when none are (see <see cref="TopLogprobsKey"/>).</summary>
    public static int? TopLogprobs(ChatOptions? options) => options is null ? null : Get<int?>(options, TopLogprobsKey);

    /// <summary>The request's priority (see <see cref="PriorityKey"/>).</summary>
    public static int Priority(ChatOptions? options) => options is null ? 0 : Get<int?>(options, PriorityKey) ?? 0;

    /// <summary>The forced answer of the request, if it has one.</summary>
    public static string? ForcedAnswer(ChatOptions? options) => options is null ? null : Get<string>(options, ForcedAnswerKey);

    /// <summary>True when the request's text is to be used as the prompt as it is, without the chat template.</summary>
    public static bool IsRawPrompt(ChatOptions? options) => options is not null && Get<bool?>(options, RawPromptKey) == true;

    /// <summary>True when the request asks to generate past end-of-turn tokens.</summary>
    public static bool IgnoreEndOfGeneration(ChatOptions? options) => options is not null && Get<bool?>(options, IgnoreEosKey) == true;

    public static SamplingSettings ToSampling(ChatOptions? options, SamplingSettings defaults)
    {
        ArgumentNullException.ThrowIfNull(defaults);
        if (options is null) return defaults.Validate();
        var grammar = Get<string>(options, GrammarKey);
        if (grammar is null && options.ResponseFormat is ChatResponseFormatJson json)
            grammar = json.Schema is { } schema ? JsonSchemaGrammar.FromSchema(schema) : JsonGrammars.BoundedObject;
        return (defaults with
        {
            Temperature = options.Temperature ?? defaults.Temperature,
            TopP = options.TopP ?? defaults.TopP,
            TopK = options.TopK ?? defaults.TopK,
            Seed = options.Seed is { } seed ? unchecked((uint)seed) : defaults.Seed,
            PresencePenalty = options.PresencePenalty ?? defaults.PresencePenalty,
            FrequencyPenalty = options.FrequencyPenalty ?? defaults.FrequencyPenalty,
            MinP = Get<float?>(options, MinPKey) ?? defaults.MinP,
            RepeatPenalty = Get<float?>(options, RepeatPenaltyKey) ?? defaults.RepeatPenalty,
            Grammar = grammar ?? defaults.Grammar,
        }).Validate();
    }

    private static T? Get<T>(ChatOptions options, string key)
    {
        if (options.AdditionalProperties is null || !options.AdditionalProperties.TryGetValue(key, out var value) || value is null) return default;
        var target = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
        return value is T typed ? typed : (T)Convert.ChangeType(value, target, CultureInfo.InvariantCulture);
    }
}

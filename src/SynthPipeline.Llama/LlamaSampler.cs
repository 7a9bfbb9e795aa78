using LLama.Native;
using SynthPipeline.Llama.Native;
using SynthPipeline.Core;

namespace SynthPipeline.Llama;

/// <summary>A grammar that llama.cpp could not parse.</summary>
public sealed class InvalidGrammarException : UserErrorException
{
    public InvalidGrammarException(string message) : base(message) { }
}

/// <summary>
/// A llama.cpp sampler chain built from <see cref="SamplingSettings"/> on LLamaSharp's
/// <see cref="SafeLLamaSamplerChainHandle"/>: penalties, then top-k, top-p, min-p, temperature and a seeded draw (or
/// greedy), and a grammar kept beside the chain. Holds per-sequence state (grammar position, penalties, RNG).
/// </summary>
/// <remarks>
/// Grammar first, as llama.cpp's common sampler does it: the chain picks a token from the unconstrained logits, the
/// grammar checks that one token, and only when it refuses are the whole vocabulary's logits passed through the
/// grammar and the chain picks again. Running the grammar over every token of a 128K vocabulary for each sampled
/// token was what made constrained requests 3× slower; a model that mostly writes what the grammar allows now pays
/// for one check.
/// <para>
/// Bounded candidates: where the chain's cut bounds the tokens it can keep (greedy, top-k up to
/// <see cref="TopCandidates.MaxCount"/>, or top-p without top-k) it runs over the best few dozen logits and the
/// penalised tokens instead of the whole vocabulary, and falls back to the whole vocabulary for a draw they cannot
/// settle (<see cref="BoundedSampler"/>). The token drawn is the same (up to the order of exactly equal logits, which
/// llama.cpp's sort leaves unspecified, and top-p's mass within float rounding of its threshold).
/// </para>
/// </remarks>
public sealed class LlamaSampler : IDisposable
{
    private readonly SafeLLamaSamplerChainHandle? _grammar;
    private readonly BoundedSampler? _bounded;
    private LLamaTokenData[] _candidates = [];
    private readonly LLamaTokenData[] _one = new LLamaTokenData[1];

    private LlamaSampler(SafeLLamaSamplerChainHandle handle, SafeLLamaSamplerChainHandle? grammar, SamplingSettings settings, BoundedSampler? bounded)
    {
        Handle = handle;
        _grammar = grammar;
        Settings = settings;
        _bounded = bounded;
    }

    internal SafeLLamaSamplerChainHandle Handle { get; }

    /// <summary>Tokens the grammar refused after the chain chose them, each followed by a full-vocabulary resample.</summary>
    public long GrammarResamples { get; private set; }

    public SamplingSettings Settings { get; }

    /// <summary>The best logits the chain runs over instead of the whole vocabulary (0: always the whole vocabulary).</summary>
    public int TopCandidateCount => _bounded?.Bound ?? 0;

    /// <summary>Draws the bounded candidates could not settle (a distribution too flat for top-p's mass, penalties pushing the top-k below the cut), made over the whole vocabulary.</summary>
    public long WholeVocabularyDraws => _bounded?.WholeVocabularyDraws ?? 0;

    /// <summary>
    /// Set when part of this chain runs in the graph: the whole chain, attached for in-graph sampling (its tokens come
    /// from the graph), or its top-k cut, attached as a <see cref="TopKOnly"/> chain (llama.cpp's sampling then runs
    /// this chain over the k candidates the graph left).
    /// </summary>
    internal bool InGraph { get; set; }

    /// <summary>The top-k cut that may run in the graph ahead of this chain with the same token drawn: the chain's k (1 when greedy), or 0 where penalties or a grammar must see the whole vocabulary first, or the chain has no top-k.</summary>
    internal int GraphTopK => _grammar is null && !Settings.HasPenalties ? Settings.IsGreedy ? 1 : Settings.TopK : 0;

    /// <summary>Made by <see cref="TopKOnly"/>: a cut for the graph, which draws nothing itself.</summary>
    internal bool IsTopKOnly { get; private init; }

    /// <summary>A chain holding only a top-k cut, attached to a context so the graph keeps k candidates a token.</summary>
    internal static LlamaSampler TopKOnly(int k)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        LlamaLibrary.EnsureInitialized();
        var chainParams = LLamaSamplerChainParams.Default();
        chainParams.NoPerf = true;
        var handle = SafeLLamaSamplerChainHandle.Create(chainParams);
        handle.AddTopK(k);
        return new LlamaSampler(handle, null, new SamplingSettings { TopK = k }, null) { IsTopKOnly = true };
    }

    /// <summary>Samplers in all, the grammar included.</summary>
    public int Count => Handle.Count + (_grammar is null ? 0 : 1);

    /// <param name="model">The model whose vocabulary the grammar is compiled against.</param>
    /// <param name="settings">The chain's settings.</param>
    /// <param name="topCandidates">Run the chain over bounded candidates where that draws the same token: true always,
    /// null (the default) for vocabularies of at least <see cref="TopCandidates.MinVocabulary"/> tokens; false hands
    /// the chain the whole vocabulary, as llama.cpp's own sampling does.</param>
    /// <exception cref="InvalidGrammarException">The grammar does not parse.</exception>
    public static LlamaSampler Create(LlamaModel model, SamplingSettings settings, bool? topCandidates = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        LlamaLibrary.EnsureInitialized();
        var chainParams = LLamaSamplerChainParams.Default();
        chainParams.NoPerf = true;
        var handle = SafeLLamaSamplerChainHandle.Create(chainParams);
        SafeLLamaSamplerChainHandle? grammarChain = null;
        try
        {
            if (settings.Grammar is not null)
            {
                NativeLog.ClearRecentProblems();
                var grammar = NativeMethods.LlamaSamplerInitGrammar(model.Vocab.Pointer, settings.Grammar, settings.GrammarRoot);
                if (grammar == 0)
                    throw new InvalidGrammarException($"invalid GBNF grammar (root '{settings.GrammarRoot}'): {NativeLog.TakeRecentProblems()}");
                if (settings.GrammarMode == GrammarMode.EveryToken)
                {
                    NativeMethods.LlamaSamplerChainAdd(handle, grammar);
                }
                else
                {
                    // A chain of its own (it takes ownership of the grammar sampler), so that it can be applied to one candidate.
                    grammarChain = SafeLLamaSamplerChainHandle.Create(chainParams);
                    NativeMethods.LlamaSamplerChainAdd(grammarChain, grammar);
                }
            }
            if (settings.HasPenalties)
                handle.AddPenalties(settings.PenaltyLastN, settings.RepeatPenalty, settings.FrequencyPenalty, settings.PresencePenalty);
            if (settings.IsGreedy)
            {
                handle.AddGreedySampler();
            }
            else
            {
                if (settings.TopK > 0) handle.AddTopK(settings.TopK);
                if (settings.TopP < 1) handle.AddTopP(settings.TopP, 1);
                if (settings.MinP > 0) handle.AddMinP(settings.MinP, 1);
                handle.AddTemperature(settings.Temperature);
                handle.AddDistributionSampler(settings.Seed);
            }
            var bounded = topCandidates ?? model.Vocab.TokenCount >= TopCandidates.MinVocabulary
                ? BoundedSampler.TryCreate(settings, model.Vocab.TokenCount)
                : null;
            return new LlamaSampler(handle, grammarChain, settings, bounded);
        }
        catch
        {
            grammarChain?.Dispose();
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Samples from the logits of batch index <paramref name="index"/> and accepts the token into the chain's state.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public int Sample(LlamaContext context, int index)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (InGraph || (_grammar is null && _bounded is null)) return (int)Handle.Sample(context.Handle, index);
        return Sample(context.Logits(index));
    }

    /// <summary>Samples from <paramref name="logits"/> (one per vocabulary token) and accepts the token into the chain's state.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public int Sample(ReadOnlySpan<float> logits)
    {
        var token = Choose(logits, constrained: false);
        if (_grammar is not null)
        {
            _one[0] = new LLamaTokenData(token, logits[token], 0);
            using (LLamaTokenDataArrayNative.Create(new LLamaTokenDataArray(_one), out var single))
                _grammar.Apply(ref single);
            if (float.IsNegativeInfinity(_one[0].Logit))
            {
                GrammarResamples++;
                token = Choose(logits, constrained: true);
            }
            _grammar.Accept(token);
        }
        if (_bounded is not null) _bounded.Accept(token);
        else Handle.Accept(token);
        return token;
    }

    /// <summary>The chain's pick (first through the grammar over every token when <paramref name="constrained"/>), without accepting it.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private int Choose(ReadOnlySpan<float> logits, bool constrained)
    {
        if (_bounded is not null) return constrained ? _bounded.ChooseFromVocabulary(logits, _grammar) : _bounded.Choose(logits);
        if (_candidates.Length != logits.Length) _candidates = new LLamaTokenData[logits.Length];
        var array = LLamaTokenDataArray.Create(logits, _candidates);
        using var pin = LLamaTokenDataArrayNative.Create(array, out var native);
        if (constrained) _grammar!.Apply(ref native);
        Handle.Apply(ref native);
        return (int)native.Data[(int)native.Selected].ID;
    }

    public void Dispose()
    {
        _bounded?.Dispose();
        _grammar?.Dispose();
        Handle.Dispose();
    }
}

using System.Runtime.CompilerServices;
using LLama.Native;

namespace SynthPipeline.Llama;

/// <summary>
/// Draws the token that llama.cpp's chain would draw from the whole vocabulary, working on a few dozen candidates
/// whenever they provably hold every token the chain could keep, and on the whole vocabulary otherwise.
/// </summary>
/// <remarks>
/// The chain is split in three, applied in the chain's order: penalties; truncation (top-k, top-p); and the draw (min-p,
/// temperature and the seeded draw, or greedy). One seeded draw serves both paths, so the bounded and whole-vocabulary
/// picks of a sequence come from one random stream, as in the single chain.
/// <para>
/// The candidates are the best logits (<see cref="TopCandidates"/>) plus every token the penalties could move. Any
/// other token has a logit at or below the worst candidate's raw logit (the cut), so after penalties the candidates'
/// order is the vocabulary's down to the last one at or above the cut. Top-k is bounded when its k fall in that
/// range. Top-p without top-k needs the softmax over the whole vocabulary: its denominator is summed over every logit
/// in one vectorised pass (corrected for the penalised candidates), and the draw is bounded when the probability mass
/// is reached within that range. The mass is summed in double precision where llama.cpp sums in float, so the two can
/// keep a different number of tokens when the mass lands within float rounding of top-p, and nowhere else.
/// </para>
/// </remarks>
internal sealed class BoundedSampler : IDisposable
{
    private readonly SafeLLamaSamplerChainHandle? _penalties;
    private readonly SafeLLamaSamplerChainHandle? _truncation;
    private readonly SafeLLamaSamplerChainHandle _draw;
    private readonly PenaltyWindow? _window;
    private readonly SamplingSettings _settings;
    private readonly LLamaTokenData[] _top;
    private readonly LLamaTokenData[] _candidates;
    private LLamaTokenData[] _vocabulary = [];

    private BoundedSampler(SamplingSettings settings, int bound)
    {
        _settings = settings;
        _top = new LLamaTokenData[bound];
        var chainParams = LLamaSamplerChainParams.Default();
        chainParams.NoPerf = true;
        try
        {
            if (settings.HasPenalties)
            {
                _penalties = SafeLLamaSamplerChainHandle.Create(chainParams);
                _penalties.AddPenalties(settings.PenaltyLastN, settings.RepeatPenalty, settings.FrequencyPenalty, settings.PresencePenalty);
                _window = new PenaltyWindow(settings.PenaltyLastN);
            }
            if (!settings.IsGreedy && (settings.TopK > 0 || settings.TopP < 1))
            {
                _truncation = SafeLLamaSamplerChainHandle.Create(chainParams);
                if (settings.TopK > 0) _truncation.AddTopK(settings.TopK);
                if (settings.TopP < 1) _truncation.AddTopP(settings.TopP, 1);
            }
            _draw = SafeLLamaSamplerChainHandle.Create(chainParams);
            if (settings.IsGreedy) _draw.AddGreedySampler();
            else
            {
                if (settings.MinP > 0) _draw.AddMinP(settings.MinP, 1);
                _draw.AddTemperature(settings.Temperature);
                _draw.AddDistributionSampler(settings.Seed);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
        _candidates = new LLamaTokenData[bound + (_window is null ? 0 : Math.Max(settings.PenaltyLastN, 0))];
    }

    /// <summary>The best logits taken as candidates.</summary>
    public int Bound => _top.Length;

    /// <summary>Draws the candidates could not settle, made over the whole vocabulary.</summary>
    public long WholeVocabularyDraws { get; private set; }

    /// <summary>The chain split for bounded draws, or null where nothing bounds the tokens it can keep.</summary>
    public static BoundedSampler? TryCreate(SamplingSettings settings, int vocabulary)
    {
        var bound = Math.Min(BoundFor(settings), vocabulary);
        return bound > 0 ? new BoundedSampler(settings, bound) : null;
    }

    /// <summary>How many of the best logits to take: enough for the chain's cut, with spare room when penalties can push some of them down.</summary>
    public static int BoundFor(SamplingSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.Grammar is not null && settings.GrammarMode == GrammarMode.EveryToken) return 0;
        var spare = settings.HasPenalties ? 16 : 0;
        if (settings.IsGreedy) return 1 + spare / 2;
        if (settings.TopK is > 0 and <= TopCandidates.MaxCount) return Math.Min(TopCandidates.MaxCount, settings.TopK + spare);
        // Top-p keeps a handful of tokens of a trained model's distribution; a flatter one falls back.
        if (settings.TopK == 0 && settings.TopP < 1) return 64;
        return 0;
    }

    /// <summary>The chain's pick, not yet accepted.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int Choose(ReadOnlySpan<float> logits)
    {
        var token = TryBounded(logits);
        if (token >= 0) return token;
        WholeVocabularyDraws++;
        return ChooseFromVocabulary(logits, grammar: null);
    }

    /// <summary>The chain's pick over the whole vocabulary, first through <paramref name="grammar"/> when given; not yet accepted.</summary>
    public int ChooseFromVocabulary(ReadOnlySpan<float> logits, SafeLLamaSamplerChainHandle? grammar)
    {
        if (_vocabulary.Length != logits.Length) _vocabulary = new LLamaTokenData[logits.Length];
        using var pin = LLamaTokenDataArrayNative.Create(LLamaTokenDataArray.Create(logits, _vocabulary), out var native);
        grammar?.Apply(ref native);
        _penalties?.Apply(ref native);
        _truncation?.Apply(ref native);
        _draw.Apply(ref native);
        return (int)native.Data[(int)native.Selected].ID;
    }

    public void Accept(int token)
    {
        _penalties?.Accept(token);
        _window?.Accept(token);
        _truncation?.Accept(token);
        _draw.Accept(token);
    }

    /// <summary>The pick from the candidates, or -1 when they cannot settle it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int TryBounded(ReadOnlySpan<float> logits)
    {
        var n = TopCandidates.Select(logits, _top.Length, _top);
        var everything = n == logits.Length;
        var cut = _top[n - 1].Logit;
        _top.AsSpan(0, n).CopyTo(_candidates);
        var count = n;
        if (_window is not null)
        {
            foreach (var token in _window.Tokens)
                if (!Contains(_candidates.AsSpan(0, n), token)) _candidates[count++] = new LLamaTokenData(token, logits[token], 0);
            using var pin = LLamaTokenDataArrayNative.Create(new LLamaTokenDataArray(_candidates.AsMemory(0, count)), out var native);
            _penalties!.Apply(ref native);
        }
        var candidates = _candidates.AsSpan(0, count);
        candidates.Sort(static (a, b) => a.Logit != b.Logit ? b.Logit.CompareTo(a.Logit) : ((int)a.ID).CompareTo((int)b.ID));
        var settled = everything ? count : AtOrAbove(candidates, cut);

        if (_settings.IsGreedy) return settled >= 1 ? (int)candidates[0].ID : -1;
        if (_settings.TopK > 0) return _settings.TopK <= settled || everything ? Draw(count, truncate: true) : -1;

        // Top-p over the whole vocabulary: the softmax's denominator from every logit, with the penalised candidates' terms replaced.
        var max = _top[0].Logit;
        var sum = TopCandidates.SumOfExponentials(logits, max);
        if (_window is not null)
            foreach (var c in candidates) sum += Math.Exp(c.Logit - max) - Math.Exp(logits[(int)c.ID] - max);
        var mass = 0.0;
        for (var i = 0; i < settled; i++)
        {
            mass += Math.Exp(candidates[i].Logit - max) / sum;
            if (mass >= _settings.TopP) return Draw(i + 1, truncate: false);
        }
        return -1;
    }

    private int Draw(int count, bool truncate)
    {
        using var pin = LLamaTokenDataArrayNative.Create(new LLamaTokenDataArray(_candidates.AsMemory(0, count), isSorted: true), out var native);
        if (truncate) _truncation?.Apply(ref native);
        _draw.Apply(ref native);
        return (int)native.Data[(int)native.Selected].ID;
    }

    private static bool Contains(ReadOnlySpan<LLamaTokenData> candidates, int token)
    {
        foreach (var c in candidates)
            if ((int)c.ID == token) return true;
        return false;
    }

    private static int AtOrAbove(ReadOnlySpan<LLamaTokenData> sorted, float cut)
    {
        var i = 0;
        while (i < sorted.Length && sorted[i].Logit >= cut) i++;
        return i;
    }

    public void Dispose()
    {
        _penalties?.Dispose();
        _truncation?.Dispose();
        _draw?.Dispose();
    }
}

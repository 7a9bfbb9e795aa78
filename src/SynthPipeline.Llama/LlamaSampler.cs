using SynthPipeline.Llama.Native;
using SynthPipeline.Core;

namespace SynthPipeline.Llama;

/// <summary>A grammar that llama.cpp could not parse.</summary>
public sealed class InvalidGrammarException : UserErrorException
{
    public InvalidGrammarException(string message) : base(message) { }
}

/// <summary>
/// A llama.cpp sampler chain built from <see cref="SamplingSettings"/>: grammar, penalties, then top-k, top-p,
/// min-p, temperature and a seeded draw (or greedy). Holds per-sequence state (grammar position, penalties, RNG).
/// </summary>
public sealed class LlamaSampler : IDisposable
{
    private LlamaSampler(SafeLlamaSamplerHandle handle, SamplingSettings settings)
    {
        Handle = handle;
        Settings = settings;
    }

    internal SafeLlamaSamplerHandle Handle { get; }

    public SamplingSettings Settings { get; }

    public int Count => NativeMethods.LlamaSamplerChainN(Handle);

    /// <exception cref="InvalidGrammarException">The grammar does not parse.</exception>
    public static LlamaSampler Create(LlamaModel model, SamplingSettings settings)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        LlamaLibrary.EnsureInitialized();
        var chainParams = NativeMethods.LlamaSamplerChainDefaultParams();
        chainParams.NoPerf = 1;
        var handle = SafeLlamaSamplerHandle.Create(NativeMethods.LlamaSamplerChainInit(chainParams), model.Handle);
        try
        {
            if (settings.Grammar is not null)
            {
                NativeLog.ClearRecentProblems();
                var grammar = NativeMethods.LlamaSamplerInitGrammar(model.Vocab.Native, settings.Grammar, settings.GrammarRoot);
                if (grammar == 0)
                    throw new InvalidGrammarException($"invalid GBNF grammar (root '{settings.GrammarRoot}'): {NativeLog.TakeRecentProblems()}");
                NativeMethods.LlamaSamplerChainAdd(handle, grammar);
            }
            if (settings.RepeatPenalty != 1 || settings.PresencePenalty != 0 || settings.FrequencyPenalty != 0)
                NativeMethods.LlamaSamplerChainAdd(handle, NativeMethods.LlamaSamplerInitPenalties(
                    settings.PenaltyLastN, settings.RepeatPenalty, settings.FrequencyPenalty, settings.PresencePenalty));
            if (settings.IsGreedy)
            {
                NativeMethods.LlamaSamplerChainAdd(handle, NativeMethods.LlamaSamplerInitGreedy());
            }
            else
            {
                if (settings.TopK > 0) NativeMethods.LlamaSamplerChainAdd(handle, NativeMethods.LlamaSamplerInitTopK(settings.TopK));
                if (settings.TopP < 1) NativeMethods.LlamaSamplerChainAdd(handle, NativeMethods.LlamaSamplerInitTopP(settings.TopP, 1));
                if (settings.MinP > 0) NativeMethods.LlamaSamplerChainAdd(handle, NativeMethods.LlamaSamplerInitMinP(settings.MinP, 1));
                NativeMethods.LlamaSamplerChainAdd(handle, NativeMethods.LlamaSamplerInitTemp(settings.Temperature));
                NativeMethods.LlamaSamplerChainAdd(handle, NativeMethods.LlamaSamplerInitDist(settings.Seed));
            }
            return new LlamaSampler(handle, settings);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Samples from the logits of batch index <paramref name="index"/> and accepts the token into the chain's state.</summary>
    public int Sample(LlamaContext context, int index)
    {
        ArgumentNullException.ThrowIfNull(context);
        return NativeMethods.LlamaSamplerSample(Handle, context.Handle, index);
    }

    public void Dispose() => Handle.Dispose();
}

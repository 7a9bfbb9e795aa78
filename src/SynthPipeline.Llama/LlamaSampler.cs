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
/// <see cref="SafeLLamaSamplerChainHandle"/>: grammar, penalties, then top-k, top-p, min-p, temperature and a seeded
/// draw (or greedy). Holds per-sequence state (grammar position, penalties, RNG).
/// </summary>
public sealed class LlamaSampler : IDisposable
{
    private LlamaSampler(SafeLLamaSamplerChainHandle handle, SamplingSettings settings)
    {
        Handle = handle;
        Settings = settings;
    }

    internal SafeLLamaSamplerChainHandle Handle { get; }

    public SamplingSettings Settings { get; }

    public int Count => Handle.Count;

    /// <exception cref="InvalidGrammarException">The grammar does not parse.</exception>
    public static LlamaSampler Create(LlamaModel model, SamplingSettings settings)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        LlamaLibrary.EnsureInitialized();
        var chainParams = LLamaSamplerChainParams.Default();
        chainParams.NoPerf = true;
        var handle = SafeLLamaSamplerChainHandle.Create(chainParams);
        try
        {
            if (settings.Grammar is not null)
            {
                NativeLog.ClearRecentProblems();
                var grammar = NativeMethods.LlamaSamplerInitGrammar(model.Vocab.Pointer, settings.Grammar, settings.GrammarRoot);
                if (grammar == 0)
                    throw new InvalidGrammarException($"invalid GBNF grammar (root '{settings.GrammarRoot}'): {NativeLog.TakeRecentProblems()}");
                NativeMethods.LlamaSamplerChainAdd(handle, grammar);
            }
            if (settings.RepeatPenalty != 1 || settings.PresencePenalty != 0 || settings.FrequencyPenalty != 0)
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
        return (int)Handle.Sample(context.Handle, index);
    }

    public void Dispose() => Handle.Dispose();
}

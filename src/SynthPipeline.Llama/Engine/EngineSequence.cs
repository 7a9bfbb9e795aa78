using System.Text;
using SynthPipeline.Llama.Teacher;
using SynthPipeline.Core.Text;

namespace SynthPipeline.Llama.Engine;

/// <summary>
/// One sequence slot of the engine's context (llama.cpp sequence id <see cref="Id"/>). Between requests it keeps
/// its KV as a prefix cache; <see cref="Tokens"/> mirrors what the KV holds or is about to hold.
/// </summary>
internal sealed class EngineSequence(int id)
{
    public int Id { get; } = id;

    /// <summary>Tokens in position order: [0, <see cref="Decoded"/>) have KV, the rest wait to be decoded.</summary>
    public List<int> Tokens { get; } = [];

    public int Decoded { get; set; }

    /// <summary>The request being served, or null when the slot is free.</summary>
    public EngineRequest? Request { get; private set; }

    /// <summary>Admission number of the current or last request: orders prompt processing and picks the least recently used slot.</summary>
    public long Admission { get; private set; }

    public int PromptLength { get; private set; }

    /// <summary>Waiting for <see cref="LinkSource"/> to compute the first <see cref="LinkLength"/> tokens, to share them.</summary>
    public EngineSequence? LinkSource { get; set; }

    public int LinkLength { get; set; }

    /// <summary>The current request's sampler is attached to the context for in-graph sampling.</summary>
    public bool BackendSampler { get; set; }

    /// <summary>The chain llama.cpp holds for this sequence id (possibly a finished request's), owned by the engine.</summary>
    public LlamaSampler? Attached { get; set; }

    public List<int> Generated { get; } = [];

    /// <summary>The log-probabilities of <see cref="Generated"/>, for a request that asked for them.</summary>
    public List<TokenLogprob> Logprobs { get; } = [];

    public StringBuilder Text { get; } = new();

    public StopSequenceMatcher Stops { get; private set; } = new(null);

    public TokenTextDecoder? Decoder { get; private set; }

    public TimeSpan FirstToken { get; set; }

    public bool IsActive => Request is not null;

    /// <summary>Decoded the whole prompt and has a sampled token waiting to be decoded.</summary>
    public bool IsGenerating => Request is not null && LinkSource is null && Decoded >= PromptLength && Tokens.Count > Decoded;

    public bool IsPromptProcessing => Request is not null && LinkSource is null && Decoded < PromptLength;

    public void Begin(EngineRequest request, LlamaVocab vocab, long admission)
    {
        Request = request;
        Admission = admission;
        PromptLength = request.Prompt.Length;
        Generated.Clear();
        Logprobs.Clear();
        Text.Clear();
        Stops = new StopSequenceMatcher(request.Request.StopSequences);
        Decoder = new TokenTextDecoder(vocab);
        FirstToken = TimeSpan.Zero;
        LinkSource = null;
        LinkLength = 0;
        PromptReused = 0;
    }

    /// <summary>Prompt tokens of the current request whose KV was shared or kept rather than computed (the request's cached tokens).</summary>
    public int PromptReused { get; set; }

    /// <summary>Frees the slot; the tokens that have KV stay as a cache for the next request's prefix.</summary>
    public EngineRequest End()
    {
        var request = Request ?? throw new InvalidOperationException("the slot is not serving a request");
        Request = null;
        LinkSource = null;
        Decoder = null;
        if (Tokens.Count > Decoded) Tokens.RemoveRange(Decoded, Tokens.Count - Decoded);
        return request;
    }

    public void ClearCache()
    {
        Tokens.Clear();
        Decoded = 0;
    }
}

namespace SynthPipeline.Llama.Engine;

// Chains attached to the context, so that sampling (or a top-k cut ahead of it) runs in the compute graph.
public sealed partial class BatchedEngine
{
    /// <summary>
    /// Attaches the request's chain for in-graph sampling (or a top-k cut ahead of it), or detaches the slot's previous
    /// one. Every attach or detach makes llama.cpp re-plan its graph, so a finished request's chain stays attached to its
    /// idle slot (and alive) until the slot's next request replaces it: one re-plan per request instead of two; a top-k
    /// cut stays for every later request with the same k.
    /// </summary>
    private void AttachSampler(EngineSequence slot, EngineRequest request)
    {
        var previous = slot.Attached;
        slot.BackendSampler = false;
        // ggml's top-k aborts the process for a k beyond the row (a client's top_k of 1000 on a 489-token model): such
        // a chain samples on the CPU, where a k that keeps the whole vocabulary cuts nothing.
        var vocabulary = _model.Vocab.TokenCount;
        // Log-probabilities need the whole row of logits, which a chain in the graph keeps on the device.
        var needsLogits = request.Request.TopLogprobs is not null;
        if (!needsLogits && _options.TopKInGraph && request.Sampler.GraphTopK is > 0 and var k && k < vocabulary)
        {
            if (previous is not { IsTopKOnly: true } || previous.Settings.TopK != k)
            {
                var cut = LlamaSampler.TopKOnly(k);
                slot.Attached = _context.SetBackendSampler(slot.Id, cut) ? cut : null;
                if (slot.Attached is null) cut.Dispose();
            }
            request.Sampler.InGraph = slot.Attached is not null;
        }
        else if (!needsLogits && _backendSampling && request.Sampler.Settings is { Grammar: null } s && !s.HasPenalties && s.TopK < vocabulary)
        {
            // On refusal llama.cpp has dropped the slot's previous chain as well.
            slot.BackendSampler = _context.SetBackendSampler(slot.Id, request.Sampler);
            slot.Attached = slot.BackendSampler ? request.Sampler : null;
            request.Sampler.InGraph = slot.BackendSampler;
        }
        else if (previous is not null)
        {
            _context.SetBackendSampler(slot.Id, null);
            slot.Attached = null;
        }
        if (previous is not null && !ReferenceEquals(previous, slot.Attached)) previous.Dispose();
    }

    /// <summary>Detaches and frees every chain still attached (before the context goes).</summary>
    private void DetachAllSamplers()
    {
        foreach (var slot in _slots)
        {
            if (slot.Attached is null) continue;
            _context.SetBackendSampler(slot.Id, null);
            slot.Attached.Dispose();
            slot.Attached = null;
            slot.BackendSampler = false;
        }
    }
}

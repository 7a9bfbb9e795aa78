namespace SynthPipeline.Llama.Engine;

// Admission: waiting requests by priority, cancelled ones dropped, and each admitted to the free slot whose cached
// KV shares the longest prefix with its prompt (or linked to a running sequence that is computing that prefix).
public sealed partial class BatchedEngine
{
    private void DropCancelled()
    {
        if (_waiting.UnorderedItems.Any(r => r.Element.Token.IsCancellationRequested))
        {
            var all = _waiting.UnorderedItems.Select(r => r.Element).ToList();
            var keep = all.Where(r => !r.Token.IsCancellationRequested).ToList();
            foreach (var r in all.Where(r => r.Token.IsCancellationRequested))
            {
                Interlocked.Decrement(ref _queueDepth);
                Interlocked.Increment(ref _failed);
                r.Release();
                r.Completion.TrySetCanceled(r.Token);
            }
            _waiting.Clear();
            foreach (var r in keep) Wait(r);
        }
        foreach (var slot in _slots)
            if (slot.Request is { Token.IsCancellationRequested: true }) Finish(slot, GenerationFinish.Length, canceled: true);
    }

    private void Wait(EngineRequest request) => _waiting.Enqueue(request, (request.Request.Priority, request.Order));

    private void Admit()
    {
        // Slots beyond ParallelSequences are prompt caches: a free slot is admitted to only while fewer run.
        while (_waiting.Count > 0 && _active < _options.ParallelSequences)
        {
            var request = _waiting.Peek();
            var slot = ChooseFreeSlot(request.Prompt);
            if (slot is null) return;
            _waiting.Dequeue();
            Interlocked.Decrement(ref _queueDepth);
            Start(slot, request);
        }
    }

    /// <summary>
    /// The free slot whose cached KV holds at least half of the prompt (the most of it, if several), which the prompt
    /// then continues in place. Otherwise the least recently used free slot: its cache is the one given up, and a
    /// shorter shared prefix is copied from whichever slot holds it (<see cref="Start"/>), so no slot's cache is
    /// overwritten for the few tokens (a chat template's opening, a common system prompt) that every prompt shares.
    /// </summary>
    /// <remarks>llama-server chooses its slots the same way (its default --slot-prompt-similarity is also 0.5).</remarks>
    private EngineSequence? ChooseFreeSlot(int[] prompt)
    {
        EngineSequence? similar = null, leastRecent = null;
        var mostShared = 0;
        foreach (var slot in _slots)
        {
            if (slot.IsActive) continue;
            if (leastRecent is null || slot.Admission < leastRecent.Admission) leastRecent = slot;
            var shared = _options.PrefixSharing ? CommonPrefix(prompt, slot.Tokens, slot.Decoded) : 0;
            if (shared * 2 >= prompt.Length && shared > mostShared)
            {
                similar = slot;
                mostShared = shared;
            }
        }
        return similar ?? leastRecent;
    }

    private void Start(EngineSequence slot, EngineRequest request)
    {
        var prompt = request.Prompt;
        // The last prompt token is always decoded: its logits give the first sampled token.
        var shareable = prompt.Length - 1;
        var keep = _options.PrefixSharing ? Math.Min(CommonPrefix(prompt, slot.Tokens, slot.Decoded), shareable) : 0;
        EngineSequence? source = null;
        var sourceLength = 0;
        if (_options.PrefixSharing)
        {
            foreach (var other in _slots)
            {
                if (ReferenceEquals(other, slot)) continue;
                var shared = Math.Min(CommonPrefix(prompt, other.Tokens, other.Tokens.Count), shareable);
                if (shared > sourceLength)
                {
                    source = other;
                    sourceLength = shared;
                }
            }
        }

        slot.Begin(request, _model.Vocab, ++_admissions);
        // A copy moves the source's whole KV stream: for a prefix shorter than MinSharedPrefix computing it costs less.
        if (source is not null && sourceLength > keep && sourceLength >= _options.MinSharedPrefix)
        {
            _context.RemoveSequence(slot.Id);
            slot.ClearCache();
            slot.Tokens.AddRange(prompt);
            if (source.Decoded >= sourceLength) Share(source, slot, sourceLength);
            else
            {
                slot.LinkSource = source;
                slot.LinkLength = sourceLength;
            }
        }
        else
        {
            if (keep < slot.Decoded && !_context.RemoveSequence(slot.Id, keep))
            {
                _context.RemoveSequence(slot.Id);
                keep = 0;
            }
            slot.Tokens.Clear();
            slot.Tokens.AddRange(prompt);
            slot.Decoded = keep;
            slot.PromptReused = keep;
            Interlocked.Add(ref _promptReused, keep);
        }

        AttachSampler(slot, request);
        Interlocked.Increment(ref _active);
    }
}

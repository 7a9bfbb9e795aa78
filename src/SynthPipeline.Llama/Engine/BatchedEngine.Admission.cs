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
        while (_waiting.Count > 0)
        {
            var request = _waiting.Peek();
            var slot = ChooseFreeSlot(request.Prompt);
            if (slot is null) return;
            _waiting.Dequeue();
            Interlocked.Decrement(ref _queueDepth);
            Start(slot, request);
        }
    }

    /// <summary>The free slot whose cached KV shares the longest prefix with the prompt; ties go to the least recently used.</summary>
    private EngineSequence? ChooseFreeSlot(int[] prompt)
    {
        EngineSequence? best = null;
        var bestShared = -1;
        foreach (var slot in _slots)
        {
            if (slot.IsActive) continue;
            var shared = _options.PrefixSharing ? CommonPrefix(prompt, slot.Tokens, slot.Decoded) : 0;
            if (shared > bestShared || (shared == bestShared && slot.Admission < best!.Admission))
            {
                best = slot;
                bestShared = shared;
            }
        }
        return best;
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
        if (source is not null && sourceLength > keep && (source.Decoded >= sourceLength || sourceLength >= _options.MinSharedPrefix))
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

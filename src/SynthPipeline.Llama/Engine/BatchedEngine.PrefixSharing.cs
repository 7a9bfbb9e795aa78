using System.Runtime.InteropServices;

namespace SynthPipeline.Llama.Engine;

// Prefix sharing: copying a computed prompt prefix from one sequence to another, waits on prefixes still being
// computed, and dropping idle caches when the KV cache is full.
public sealed partial class BatchedEngine
{
    /// <summary>
    /// Gives <paramref name="target"/> the KV of the first <paramref name="length"/> positions of <paramref name="source"/>.
    /// Streams are separate, so llama.cpp copies the source's whole stream (on the device, before the next decode)
    /// and the target then drops the positions past the prefix; far cheaper than computing the prefix again.
    /// </summary>
    private void Share(EngineSequence source, EngineSequence target, int length)
    {
        if (length > 0)
        {
            _context.CopySequence(source.Id, target.Id);
            _context.RemoveSequence(target.Id, length);
        }
        target.Decoded = length;
        target.PromptReused = length;
        Interlocked.Add(ref _promptReused, length);
    }

    /// <summary>Completes waits on prefixes that their source has now computed, or will never compute.</summary>
    private void ResolveLinks()
    {
        foreach (var slot in _slots)
        {
            var source = slot.LinkSource;
            if (source is null) continue;
            if (source.Decoded >= slot.LinkLength || !source.IsActive) ResolveLink(slot);
        }
    }

    private void ResolveLink(EngineSequence slot)
    {
        var source = slot.LinkSource!;
        slot.LinkSource = null;
        var length = Math.Min(slot.LinkLength, CommonPrefix(CollectionsMarshal.AsSpan(slot.Tokens), source.Tokens, source.Decoded));
        Share(source, slot, length);
    }

    /// <summary>Before a sequence's KV changes or goes, every sequence waiting to share it takes what is there now.</summary>
    private void ReleaseLinksTo(EngineSequence source)
    {
        foreach (var slot in _slots)
            if (ReferenceEquals(slot.LinkSource, source)) ResolveLink(slot);
    }

    private bool EvictIdleCaches()
    {
        var any = false;
        foreach (var slot in _slots)
        {
            if (slot.IsActive || slot.Decoded == 0) continue;
            _context.RemoveSequence(slot.Id);
            slot.ClearCache();
            any = true;
        }
        return any;
    }

    private static int CommonPrefix(ReadOnlySpan<int> prompt, List<int> tokens, int limit) =>
        prompt.CommonPrefixLength(CollectionsMarshal.AsSpan(tokens)[..Math.Min(limit, tokens.Count)]);
}

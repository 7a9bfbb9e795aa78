using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using LLama.Native;

namespace SynthPipeline.Llama;

/// <summary>
/// The <c>k</c> highest logits of a vocabulary, found in one vectorised pass: the candidates a sampler chain that
/// starts with top-k can reach. llama.cpp's own path copies every logit into a token array and partially sorts it
/// (about 1.5 MB written per sampled token with a 128K vocabulary); this reads the logits once and touches only the
/// few that beat the current k-th best.
/// </summary>
[SkipLocalsInit]
public static class TopCandidates
{
    /// <summary>
    /// The smallest vocabulary for which the selection is used unless asked for: below it llama.cpp's own copy and
    /// partial sort cost about the same (4 µs a token with the demo model's 489 tokens, against 190-235 µs for the
    /// whole path and 26-33 µs for this one with Llama 3's 128,256).
    /// </summary>
    public const int MinVocabulary = 16_384;

    /// <summary>The most candidates kept; llama.cpp partially sorts up to this many and buckets above it.</summary>
    public const int MaxCount = 128;

    /// <summary>
    /// Writes the <paramref name="count"/> best tokens of <paramref name="logits"/> to <paramref name="destination"/>,
    /// ordered by logit (highest first, lower token id first among equal logits), and returns how many were written
    /// (fewer only when the vocabulary is smaller). Among equal logits at the cut, lower token ids are kept.
    /// </summary>
    // Straight to optimised code: at tier 0 the vector operations are calls, and a short run never leaves tier 0.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int Select(ReadOnlySpan<float> logits, int count, Span<LLamaTokenData> destination)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, MaxCount);
        var k = Math.Min(count, logits.Length);
        if (destination.Length < k) throw new ArgumentException($"room for {destination.Length} candidates, {k} needed", nameof(destination));
        if (k == 0) return 0;

        // A heap whose root is the worst kept candidate: the lowest logit, and among equal logits the highest id.
        Span<float> heapLogit = stackalloc float[k];
        Span<int> heapId = stackalloc int[k];
        for (var i = 0; i < k; i++)
        {
            heapLogit[i] = logits[i];
            heapId[i] = i;
        }
        for (var i = k / 2 - 1; i >= 0; i--) SiftDown(heapLogit, heapId, i);

        var next = k;
        if (Vector.IsHardwareAccelerated && logits.Length - next >= Vector<float>.Count)
        {
            var width = Vector<float>.Count;
            var lanes = MemoryMarshal.Cast<float, Vector<float>>(logits[next..]);
            var threshold = new Vector<float>(heapLogit[0]);
            for (var v = 0; v < lanes.Length; v++)
            {
                // Later tokens enter only with a strictly higher logit, so earlier ids win ties at the cut.
                if (!Vector.GreaterThanAny(lanes[v], threshold)) continue;
                var baseId = next + v * width;
                for (var lane = 0; lane < width; lane++)
                {
                    var logit = logits[baseId + lane];
                    if (logit > heapLogit[0]) Replace(heapLogit, heapId, logit, baseId + lane);
                }
                threshold = new Vector<float>(heapLogit[0]);
            }
            next += lanes.Length * width;
        }
        for (var i = next; i < logits.Length; i++)
            if (logits[i] > heapLogit[0]) Replace(heapLogit, heapId, logits[i], i);

        for (var i = 0; i < k; i++) destination[i] = new LLamaTokenData(heapId[i], heapLogit[i], 0);
        SortBestFirst(destination[..k]);
        return k;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Replace(Span<float> logit, Span<int> id, float value, int token)
    {
        logit[0] = value;
        id[0] = token;
        SiftDown(logit, id, 0);
    }

    /// <summary>True when (a) is a worse candidate than (b): lower logit, or equal logit and higher id.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Worse(float aLogit, int aId, float bLogit, int bId) => aLogit < bLogit || (aLogit == bLogit && aId > bId);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SiftDown(Span<float> logit, Span<int> id, int i)
    {
        var n = logit.Length;
        while (true)
        {
            var worst = i;
            var left = 2 * i + 1;
            var right = left + 1;
            if (left < n && Worse(logit[left], id[left], logit[worst], id[worst])) worst = left;
            if (right < n && Worse(logit[right], id[right], logit[worst], id[worst])) worst = right;
            if (worst == i) return;
            (logit[i], logit[worst]) = (logit[worst], logit[i]);
            (id[i], id[worst]) = (id[worst], id[i]);
            i = worst;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SortBestFirst(Span<LLamaTokenData> items)
    {
        for (var i = 1; i < items.Length; i++)
        {
            var item = items[i];
            var j = i - 1;
            while (j >= 0 && Worse(items[j].Logit, (int)items[j].ID, item.Logit, (int)item.ID))
            {
                items[j + 1] = items[j];
                j--;
            }
            items[j + 1] = item;
        }
    }
}

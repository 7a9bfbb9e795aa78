using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
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

    /// <summary>
    /// Σ exp(logit − <paramref name="max"/>) over every logit, summed in double precision: the denominator of the
    /// softmax over the whole vocabulary, for top-p without top-k over the top candidates only. Each exponential is
    /// within about 2e-7 of its exact value (a vectorised Cephes-style expf).
    /// </summary>
    public static double SumOfExponentials(ReadOnlySpan<float> logits, float max) =>
        SumOfExponentials(logits, max, Vector512.IsHardwareAccelerated);

    /// <summary><see cref="SumOfExponentials(ReadOnlySpan{float}, float)"/>, with 512-bit vectors or with <see cref="Vector{T}"/> (tests take both).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static double SumOfExponentials(ReadOnlySpan<float> logits, float max, bool vector512)
    {
        var sum = 0.0;
        var next = 0;
        // Float partial sums over short blocks, then double: the error stays at float rounding of a block.
        const int block = 64;
        if (vector512 && logits.Length >= Vector512<float>.Count)
        {
            // Vector<float> stays at 256 bits on AVX-512 CPUs; twice the width took 57 against 100 µs over 128K logits here.
            var lanes = MemoryMarshal.Cast<float, Vector512<float>>(logits);
            var shift = Vector512.Create(max);
            var total = Vector512<double>.Zero;
            for (var start = 0; start < lanes.Length; start += block)
            {
                var partial = Vector512<float>.Zero;
                var end = Math.Min(lanes.Length, start + block);
                for (var v = start; v < end; v++) partial += Exp(lanes[v] - shift);
                var (low, high) = Vector512.Widen(partial);
                total += low + high;
            }
            sum = Vector512.Sum(total);
            next = lanes.Length * Vector512<float>.Count;
        }
        else if (Vector.IsHardwareAccelerated && logits.Length >= Vector<float>.Count)
        {
            var lanes = MemoryMarshal.Cast<float, Vector<float>>(logits);
            var shift = new Vector<float>(max);
            var total = Vector<double>.Zero;
            for (var start = 0; start < lanes.Length; start += block)
            {
                var partial = Vector<float>.Zero;
                var end = Math.Min(lanes.Length, start + block);
                for (var v = start; v < end; v++) partial += Exp(lanes[v] - shift);
                Vector.Widen(partial, out var low, out var high);
                total += low + high;
            }
            sum = Vector.Sum(total);
            next = lanes.Length * Vector<float>.Count;
        }
        for (var i = next; i < logits.Length; i++) sum += MathF.Exp(logits[i] - max);
        return sum;
    }

    // e^x lane by lane (the same steps at both widths): x = n·ln 2 + r with |r| ≤ ln 2 / 2, e^r by a degree-6
    // polynomial, 2^n in the exponent bits. Below about -87.3 the result is under float's smallest normal: flushed to
    // 0 (and -∞, a masked token, with it).
    private const float ExpLow = -87.3f, ExpHigh = 88f, Log2E = 1.44269504088896341f, Ln2High = 0.693359375f, Ln2Low = -2.12194440e-4f;
    private const float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f, P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Exp(Vector<float> x)
    {
        var underflow = Vector.LessThan(x, new Vector<float>(ExpLow));
        x = Vector.Min(Vector.Max(x, new Vector<float>(ExpLow)), new Vector<float>(ExpHigh));
        var n = Vector.Floor(x * new Vector<float>(Log2E) + new Vector<float>(0.5f));
        var r = x - n * new Vector<float>(Ln2High) - n * new Vector<float>(Ln2Low);
        var p = new Vector<float>(P0);
        p = p * r + new Vector<float>(P1);
        p = p * r + new Vector<float>(P2);
        p = p * r + new Vector<float>(P3);
        p = p * r + new Vector<float>(P4);
        p = p * r + new Vector<float>(P5);
        var y = p * r * r + r + Vector<float>.One;
        var scale = Vector.AsVectorSingle(Vector.ShiftLeft(Vector.ConvertToInt32(n) + new Vector<int>(127), 23));
        return Vector.ConditionalSelect(underflow, Vector<float>.Zero, y * scale);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Exp(Vector512<float> x)
    {
        var underflow = Vector512.LessThan(x, Vector512.Create(ExpLow));
        x = Vector512.Min(Vector512.Max(x, Vector512.Create(ExpLow)), Vector512.Create(ExpHigh));
        var n = Vector512.Floor(x * Vector512.Create(Log2E) + Vector512.Create(0.5f));
        var r = x - n * Vector512.Create(Ln2High) - n * Vector512.Create(Ln2Low);
        var p = Vector512.Create(P0);
        p = p * r + Vector512.Create(P1);
        p = p * r + Vector512.Create(P2);
        p = p * r + Vector512.Create(P3);
        p = p * r + Vector512.Create(P4);
        p = p * r + Vector512.Create(P5);
        var y = p * r * r + r + Vector512<float>.One;
        var scale = Vector512.ShiftLeft(Vector512.ConvertToInt32(n) + Vector512.Create(127), 23).AsSingle();
        return Vector512.ConditionalSelect(underflow, Vector512<float>.Zero, y * scale);
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

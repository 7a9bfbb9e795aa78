using System.Numerics;
using System.Runtime.InteropServices;

namespace SynthPipeline.Core.Novelty;

/// <summary>
/// The Self-Instruct ROUGE-L novelty check, fast: finds, for a candidate, the earlier instruction with the highest
/// ROUGE-L F (first one on ties), with results identical to scoring every pair with rouge_score.
/// <list type="bullet">
/// <item>Tokens are interned once; instructions are stored as id arrays in one flat buffer.</item>
/// <item>LCS is bit-parallel (Hyyrö): one 64-bit word per 64 candidate tokens, a few operations per token of the other side.</item>
/// <item>A pair is skipped when even a perfect LCS could not beat the best score found so far (the length bound).</item>
/// <item>The scan is split across cores; each part keeps its own best, and the parts are merged by score, then index.</item>
/// </list>
/// Not thread-safe for writers: call <see cref="Add(string)"/> from one thread, never during <see cref="FindMostSimilar(string)"/>.
/// </summary>
public sealed class NoveltyIndex
{
    /// <summary>Below this many stored instructions a single thread is faster than splitting the scan.</summary>
    private const int ParallelThreshold = 4096;

    private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);
    private int[] _tokens = new int[4096];
    private int _tokenCount;
    private int[] _start = new int[256];
    private int[] _length = new int[256];
    private int _count;
    private int[] _slot = [];
    private int _maxLength;

    public int Count => _count;

    /// <summary>Distinct tokens seen.</summary>
    public int Vocabulary => _ids.Count;

    /// <summary>Adds an instruction; its index is the previous <see cref="Count"/>.</summary>
    public int Add(string instruction) => Add(Intern(instruction));

    /// <summary>The stored instruction most similar to <paramref name="candidate"/>, and its ROUGE-L F (candidate as target).</summary>
    public NoveltyMatch FindMostSimilar(string candidate) => FindMostSimilar(Intern(candidate));

    /// <summary>
    /// The reference's record of an accepted instruction: its <paramref name="top"/> most similar instructions in the
    /// index (highest first, ties by index) and the mean ROUGE-L F against all of them. Every score is computed, so
    /// this costs a full scan; it is asked only for accepted instructions.
    /// </summary>
    public SimilarityProfile Profile(string candidate, int top = 10)
    {
        var target = Intern(candidate);
        if (_count == 0) return new SimilarityProfile([], 0);
        if (_slot.Length < _ids.Count) Array.Resize(ref _slot, Math.Max(_ids.Count, _slot.Length * 2));
        var scores = new double[_count];
        if (target.Length > 0)
        {
            var pattern = new Pattern(target, _slot, _maxLength);
            try
            {
                Span<ulong> v = stackalloc ulong[pattern.Words];
                for (var j = 0; j < _count; j++)
                {
                    var lcs = pattern.Lcs(_tokens.AsSpan(_start[j], _length[j]), v);
                    scores[j] = lcs == 0 ? 0 : RougeL.F(lcs, _length[j], pattern.Length);
                }
            }
            finally
            {
                pattern.Release();
            }
        }
        var best = Enumerable.Range(0, _count).OrderByDescending(j => scores[j]).ThenBy(j => j).Take(top).Select(j => new NoveltyMatch(j, scores[j])).ToList();
        return new SimilarityProfile(best, scores.Average());
    }

    /// <summary>True when <paramref name="match"/> makes a candidate a near-duplicate: F strictly above the threshold.</summary>
    public static bool IsTooSimilar(NoveltyMatch match, double threshold = 0.7) => match.Score > threshold;

    internal int[] Intern(string text)
    {
        var words = RougeTokenizer.Tokenize(text);
        var ids = new int[words.Count];
        for (var i = 0; i < ids.Length; i++)
        {
            ref var id = ref CollectionsMarshal.GetValueRefOrAddDefault(_ids, words[i], out var exists);
            if (!exists) id = _ids.Count - 1;
            ids[i] = id;
        }
        return ids;
    }

    private int Add(int[] ids)
    {
        if (_count == _start.Length)
        {
            Array.Resize(ref _start, _count * 2);
            Array.Resize(ref _length, _count * 2);
        }
        if (_tokenCount + ids.Length > _tokens.Length) Array.Resize(ref _tokens, Math.Max(_tokens.Length * 2, _tokenCount + ids.Length));
        ids.CopyTo(_tokens, _tokenCount);
        _start[_count] = _tokenCount;
        _length[_count] = ids.Length;
        _maxLength = Math.Max(_maxLength, ids.Length);
        _tokenCount += ids.Length;
        return _count++;
    }

    private NoveltyMatch FindMostSimilar(int[] target)
    {
        if (_count == 0) return new NoveltyMatch(-1, 0);
        if (target.Length == 0) return new NoveltyMatch(0, 0);
        if (_slot.Length < _ids.Count)
        {
            var old = _slot.Length;
            Array.Resize(ref _slot, Math.Max(_ids.Count, old * 2));
        }
        var pattern = new Pattern(target, _slot, _maxLength);
        try
        {
            return _count < ParallelThreshold ? Scan(pattern, 0, _count) : ScanParallel(pattern);
        }
        finally
        {
            pattern.Release();
        }
    }

    private NoveltyMatch ScanParallel(Pattern pattern)
    {
        var parts = Math.Min(Environment.ProcessorCount * 4, _count / 1024);
        var results = new NoveltyMatch[parts];
        Parallel.For(0, parts, p =>
        {
            var from = (int)((long)_count * p / parts);
            var to = (int)((long)_count * (p + 1) / parts);
            results[p] = Scan(pattern, from, to);
        });
        var best = results[0];
        for (var p = 1; p < parts; p++)
            if (results[p].Score > best.Score) best = results[p];
        return best;
    }

    private NoveltyMatch Scan(Pattern pattern, int from, int to)
    {
        var bestIndex = -1;
        var best = -1.0;
        var upper = pattern.UpperBounds;
        Span<ulong> v = stackalloc ulong[pattern.Words];
        for (var j = from; j < to; j++)
        {
            var n = _length[j];
            // Even an LCS of min(m, n) could not beat the best so far (ties keep the earlier index).
            if (upper[n] <= best) continue;
            var lcs = pattern.Lcs(_tokens.AsSpan(_start[j], n), v);
            var f = lcs == 0 ? 0 : RougeL.F(lcs, n, pattern.Length);
            if (f > best)
            {
                best = f;
                bestIndex = j;
            }
        }
        return new NoveltyMatch(bestIndex, best < 0 ? 0 : best);
    }

    /// <summary>
    /// Match masks of the candidate for bit-parallel LCS: bit i of word i/64 is set where token i equals the key.
    /// A dense token-to-mask table (shared, reset after each search) keeps the inner loop free of hashing and branches.
    /// </summary>
    private sealed class Pattern
    {
        private readonly int[] _slot;
        private readonly ulong[] _masks;
        private readonly ulong _lastWordMask;
        private readonly int[] _distinct;

        public Pattern(int[] tokens, int[] slot, int maxOtherLength)
        {
            UpperBounds = new double[maxOtherLength + 1];
            for (var n = 0; n <= maxOtherLength; n++) UpperBounds[n] = RougeL.F(Math.Min(tokens.Length, n), n, tokens.Length);
            _slot = slot;
            Length = tokens.Length;
            Words = (tokens.Length + 63) / 64;
            var distinct = new List<int>();
            // Entry 0 is an all-zero mask for tokens the candidate lacks, so the inner loop needs no branch.
            _masks = new ulong[(tokens.Length + 1) * Words];
            for (var i = 0; i < tokens.Length; i++)
            {
                var k = slot[tokens[i]];
                if (k == 0)
                {
                    distinct.Add(tokens[i]);
                    k = slot[tokens[i]] = distinct.Count;
                }
                _masks[k * Words + i / 64] |= 1UL << (i % 64);
            }
            _distinct = [.. distinct];
            _lastWordMask = Length % 64 == 0 ? ulong.MaxValue : (1UL << (Length % 64)) - 1;
        }

        public int Length { get; }

        public int Words { get; }

        /// <summary>The F an instruction of n tokens would reach with a perfect LCS: the most it can score.</summary>
        public double[] UpperBounds { get; }

        /// <summary>Returns the shared table to all zero.</summary>
        public void Release()
        {
            foreach (var t in _distinct) _slot[t] = 0;
        }

        public int Lcs(ReadOnlySpan<int> other, Span<ulong> v)
        {
            var slot = _slot;
            if (Words == 1)
            {
                var x = ulong.MaxValue;
                var masks = _masks;
                foreach (var t in other)
                {
                    var u = x & masks[slot[t]];
                    x = (x + u) | (x & ~u);
                }
                return Length - BitOperations.PopCount(x & _lastWordMask);
            }
            v.Fill(ulong.MaxValue);
            foreach (var t in other)
            {
                var k = slot[t];
                if (k == 0) continue;
                var mask = _masks.AsSpan(k * Words, Words);
                ulong carry = 0;
                for (var w = 0; w < Words; w++)
                {
                    var u = v[w] & mask[w];
                    var sum = v[w] + u;
                    var c1 = sum < v[w] ? 1UL : 0UL;
                    var s = sum + carry;
                    var c2 = s < sum ? 1UL : 0UL;
                    v[w] = s | (v[w] & ~u);
                    carry = c1 | c2;
                }
            }
            var zeros = 0;
            for (var w = 0; w < Words - 1; w++) zeros += 64 - BitOperations.PopCount(v[w]);
            return zeros + BitOperations.PopCount(~v[Words - 1] & _lastWordMask);
        }
    }
}

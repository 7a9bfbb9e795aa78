namespace SynthPipeline.Core.Novelty;

/// <summary>ROUGE-L F-measure exactly as rouge_score computes it, in double precision.</summary>
public static class RougeL
{
    /// <summary>
    /// F from an LCS length: P = lcs/len(prediction), R = lcs/len(target), F = 2PR/(P+R), evaluated in the
    /// reference's order so values on the 0.7 threshold round the same way (many of them land just above it).
    /// </summary>
    public static double F(int lcs, int predictionLength, int targetLength)
    {
        if (lcs == 0 || predictionLength == 0 || targetLength == 0) return 0;
        var precision = (double)lcs / predictionLength;
        var recall = (double)lcs / targetLength;
        return 2 * precision * recall / (precision + recall);
    }

    /// <summary>Longest common subsequence by the reference's dynamic programme (the naive baseline).</summary>
    public static int LcsNaive<T>(IReadOnlyList<T> a, IReadOnlyList<T> b) where T : IEquatable<T>
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var table = new int[a.Count + 1, b.Count + 1];
        for (var i = 1; i <= a.Count; i++)
            for (var j = 1; j <= b.Count; j++)
                table[i, j] = a[i - 1].Equals(b[j - 1]) ? table[i - 1, j - 1] + 1 : Math.Max(table[i - 1, j], table[i, j - 1]);
        return table[a.Count, b.Count];
    }

    /// <summary>
    /// rouge_score's <c>RougeScorer(["rougeL"]).score(target, prediction).fmeasure</c>, naively: both texts are
    /// tokenized on every call and a full table is built, as the reference does for every pair.
    /// </summary>
    public static double ScoreNaive(string target, string prediction)
    {
        var t = RougeTokenizer.Tokenize(target);
        var p = RougeTokenizer.Tokenize(prediction);
        if (t.Count == 0 || p.Count == 0) return 0;
        return F(LcsNaive(t, p), p.Count, t.Count);
    }
}

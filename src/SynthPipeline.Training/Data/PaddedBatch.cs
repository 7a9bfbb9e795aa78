namespace SynthPipeline.Training.Data;

/// <summary>
/// Examples as one rectangular batch, as both trainers feed the model: token ids padded to the longest example (cut at
/// the sequence length), and per position 1 where the loss counts that token, 0 elsewhere (padding included).
/// </summary>
public static class PaddedBatch
{
    public static (long[] Ids, float[] Mask, int Length) Build(IReadOnlyList<TokenizedExample> batch, int sequenceLength, int padToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var length = Math.Min(sequenceLength, batch.Max(e => e.Tokens.Length));
        var ids = new long[batch.Count * length];
        var mask = new float[batch.Count * length];
        for (var b = 0; b < batch.Count; b++)
        {
            var e = batch[b];
            for (var t = 0; t < length; t++)
            {
                ids[b * length + t] = t < e.Tokens.Length ? e.Tokens[t] : padToken;
                mask[b * length + t] = t < e.Tokens.Length && e.Trained[t] ? 1 : 0;
            }
        }
        return (ids, mask, length);
    }
}

namespace SynthPipeline.Core.Novelty;

/// <summary>The most similar earlier instruction: its index in the index (-1 when the index is empty) and its ROUGE-L F.</summary>
public readonly record struct NoveltyMatch(int Index, double Score);

/// <summary>An instruction's most similar earlier instructions (index and ROUGE-L F, highest first) and its mean similarity to all.</summary>
public sealed record SimilarityProfile(IReadOnlyList<NoveltyMatch> MostSimilar, double Average);

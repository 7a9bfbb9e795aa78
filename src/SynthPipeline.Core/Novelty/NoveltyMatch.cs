namespace SynthPipeline.Core.Novelty;

/// <summary>The most similar earlier instruction: its index in the index (-1 when the index is empty) and its ROUGE-L F.</summary>
public readonly record struct NoveltyMatch(int Index, double Score);

namespace SynthPipeline.Pipeline.State;

/// <summary>How a run ended: where its files are, whether Ctrl+C stopped it, and one line of what it made.</summary>
public sealed record RunOutcome(string Folder, bool Cancelled, string Summary);

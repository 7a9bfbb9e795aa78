namespace SynthPipeline.Pipeline.State;

/// <summary>Which command a run folder belongs to. Stored by name in the run's metadata.</summary>
public enum RunKind
{
    Generate,
    Augment,
}

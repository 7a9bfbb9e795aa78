namespace SynthPipeline.Pipeline.State;

/// <summary>Which command a run folder belongs to. Stored by name in the run's metadata.</summary>
public enum RunKind
{
    Generate,
    Augment,

    /// <summary><c>synth run</c>: the overnight run holding the others as stages.</summary>
    Overnight,
}

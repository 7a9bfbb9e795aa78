namespace SynthPipeline.Core.Augment;

/// <summary>The behaviour an example teaches.</summary>
public enum ExampleKind
{
    /// <summary>An ordinary question with its correct answer.</summary>
    Legitimate,

    /// <summary>A question on a false premise; the answer corrects the premise first, then answers.</summary>
    Negative,

    /// <summary>A question about information that changes constantly; the answer declines, says why and where to look.</summary>
    Refusal,
}

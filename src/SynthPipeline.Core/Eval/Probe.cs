using SynthPipeline.Core.Augment;

namespace SynthPipeline.Core.Eval;

/// <summary>
/// One evaluation question: its kind (the behaviour it probes), the reference answer, an optional source passage the
/// judge may check against, and where it came from (a run's example id, or "file:line").
/// </summary>
public sealed record Probe(string Id, ExampleKind Kind, string Question, string Reference, string? Source, string Origin);

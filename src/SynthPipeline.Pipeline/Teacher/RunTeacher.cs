using Microsoft.Extensions.AI;

namespace SynthPipeline.Pipeline.Teacher;

/// <summary>
/// The teacher a run talks to: the model's <see cref="IChatClient"/> (the run adds its own resilience and logging
/// around it), how the dataset card names it, whether it is the built-in demo model, and its token counter (for
/// chunking documents by the teacher's own tokens).
/// </summary>
public sealed record RunTeacher(IChatClient Client, string Description, bool IsDemo, Func<string, int> CountTokens);

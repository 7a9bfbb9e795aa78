using Microsoft.Extensions.AI;

namespace SynthPipeline.Pipeline.Eval;

/// <summary>
/// A model under evaluation: its name in tables ("base", "base + adapter"), an identity that changes whenever its
/// weights do (the model file and the adapter's hash), under which its answers are cached, and its client.
/// </summary>
public sealed record EvalStudent(string Name, string Identity, IChatClient Client);

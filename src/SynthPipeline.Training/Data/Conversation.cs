using SynthPipeline.Core;
namespace SynthPipeline.Training.Data;

/// <summary>One turn; <see cref="Trainable"/> is meaningful for assistant turns only (a flawed turn in a correction conversation is not).</summary>
public sealed record Turn(string Role, string Content, bool Trainable = true);

/// <summary>A training conversation and where it came from ("file:line").</summary>
public sealed record Conversation(IReadOnlyList<Turn> Turns, string Source);

/// <summary>A training file that cannot be used; names the file, line and defect.</summary>
public sealed class TrainingDataException(string message) : UserErrorException(message)
{
}

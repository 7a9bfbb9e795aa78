namespace SynthPipeline.Pipeline.Teacher;

/// <summary>The teacher made no progress (no new token) for the stall limit.</summary>
public sealed class TeacherStalledException(TimeSpan stall) : Exception($"the teacher produced no token for {stall.TotalSeconds:F0} s")
{
}

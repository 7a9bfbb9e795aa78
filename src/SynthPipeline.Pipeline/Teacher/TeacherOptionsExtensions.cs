using SynthPipeline.Core.Options;

namespace SynthPipeline.Pipeline.Teacher;

/// <summary>What runs derive from the teacher settings.</summary>
public static class TeacherOptionsExtensions
{
    /// <summary>Requests the teacher serves at once: the local engine's sequences, or every endpoint's MaxConcurrent together.</summary>
    public static int Parallelism(this TeacherOptions teacher)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        return teacher.IsRemote ? Math.Min(4096, teacher.Endpoints.Sum(e => e.MaxConcurrent)) : teacher.ParallelSequences;
    }
}

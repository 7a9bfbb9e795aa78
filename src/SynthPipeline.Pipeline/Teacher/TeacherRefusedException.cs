using SynthPipeline.Core;

namespace SynthPipeline.Pipeline.Teacher;

/// <summary>
/// The teacher refused a request for a reason in the user's settings (a prompt longer than Teacher:ContextPerSequence,
/// a grammar that does not parse). Every request built the same way would fail the same way, so the run stops with
/// its work saved instead of recording the same failure against every item; the request is not stored, so a resumed
/// run asks it again.
/// </summary>
public sealed class TeacherRefusedException : UserErrorException
{
    public TeacherRefusedException(string kind, UserErrorException refusal)
        : base($"the teacher refused {("aeiou".Contains(kind[0], StringComparison.Ordinal) ? "an" : "a")} {kind} request: {refusal?.Message} (the run stopped with its work saved: change the setting and continue with --resume)", refusal!)
    {
        Kind = kind;
    }

    /// <summary>The request kind ("instruction", "classify", a template name).</summary>
    public string Kind { get; } = "";
}

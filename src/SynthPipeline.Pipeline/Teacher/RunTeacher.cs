using Microsoft.Extensions.AI;
using SynthPipeline.Core.Options;

namespace SynthPipeline.Pipeline.Teacher;

/// <summary>
/// The teacher a run talks to: the model's <see cref="IChatClient"/> (the run adds its own resilience and logging
/// around it), how the dataset card names it, whether it is the built-in demo model, and its token counter (for
/// chunking documents by the teacher's own tokens). <see cref="Roles"/> sends judging and classifying elsewhere when
/// <c>Teacher:Roles</c> says so; a role not in it uses <see cref="Client"/>.
/// </summary>
public sealed record RunTeacher(IChatClient Client, string Description, bool IsDemo, Func<string, int> CountTokens)
{
    /// <summary>The client and description of each role that does not use <see cref="Client"/>.</summary>
    public IReadOnlyDictionary<TeacherRole, (IChatClient Client, string Description)> Roles { get; init; } =
        new Dictionary<TeacherRole, (IChatClient, string)>();

    /// <summary>The client that plays <paramref name="role"/>.</summary>
    public IChatClient For(TeacherRole role) => Roles.TryGetValue(role, out var r) ? r.Client : Client;

    /// <summary>Who played each role, for the card: one line per role.</summary>
    public IReadOnlyList<(TeacherRole Role, string Model)> Cast() =>
        [.. Enum.GetValues<TeacherRole>().Select(role => (role, Roles.TryGetValue(role, out var r) ? r.Description : Description))];

    /// <summary>How the card names the teacher: the model, or which model played each role when they differ.</summary>
    public string CardDescription() => Roles.Count == 0
        ? Description
        : string.Join("; ", Cast().Select(c => $"{StoredRoleName(c.Role)}: {c.Model}"));

    private static string StoredRoleName(TeacherRole role) => role.ToString().ToLowerInvariant();

    /// <summary>The role of a request of <paramref name="kind"/> (its prompt template): judges, the classification question, or generation.</summary>
    public static TeacherRole RoleOf(string kind)
    {
        ArgumentNullException.ThrowIfNull(kind);
        if (kind == "classify") return TeacherRole.Classify;
        return kind.Contains("judge", StringComparison.Ordinal) ? TeacherRole.Judge : TeacherRole.Generate;
    }
}

using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using SynthPipeline.Core.Options;
using SynthPipeline.Llama.Teacher;
using SynthPipeline.Pipeline.Teacher.Rehearsal;

namespace SynthPipeline.Pipeline.Teacher;

/// <summary>
/// The teacher a command's run uses, from validated settings: the endpoints of <c>Teacher:Endpoints</c> (checked
/// before any work starts) and, where a role needs it or no endpoint is configured, the local model (the demo model
/// when none is configured). Each role of <c>Teacher:Roles</c> gets its client; in completion mode every client sends
/// the raw prompt. Disposing releases everything.
/// </summary>
public sealed class TeacherSession : IDisposable
{
    private readonly RemoteTeacher? _remote;
    private readonly LocalTeacher? _local;

    private TeacherSession(RunTeacher teacher, RemoteTeacher? remote, LocalTeacher? local)
    {
        Teacher = teacher;
        _remote = remote;
        _local = local;
    }

    public RunTeacher Teacher { get; }

    /// <summary>The local batching engine, for its metrics; null when every role is remote.</summary>
    public LlamaChatClient? Engine => _local?.Client;

    public static async Task<TeacherSession> OpenAsync(TeacherOptions options, ILoggerFactory loggers, Action<string> notice, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        RemoteTeacher? remote = null;
        LocalTeacher? local = null;
        try
        {
            if (options.IsRemote)
            {
                remote = RemoteTeacher.Create(options, loggers, TimeProvider.System);
                await remote.CheckAsync(cancellationToken).ConfigureAwait(false);
            }
            if (options.UsesLocalModel) local = LocalTeacher.Load(options, loggers, notice, cancellationToken);
            if (options.Rehearsal)
                notice("Teacher:Rehearsal is on: Self-Instruct answers are scripted and forced token by token while the model decodes each one; the run measures time, its data is not real.");
            return new TeacherSession(Compose(options, remote, local), remote, local);
        }
        catch
        {
            remote?.Dispose();
            local?.Dispose();
            throw;
        }
    }

    /// <summary>One client per role: the local model, or a router over the role's endpoints; the generator is the run's main client.</summary>
    public static RunTeacher Compose(TeacherOptions options, RemoteTeacher? remote, LocalTeacher? local)
    {
        ArgumentNullException.ThrowIfNull(options);
        (IChatClient Client, string Description) Play(TeacherRole role)
        {
            var indexes = options.EndpointsFor(role);
            if (indexes.Count == 0)
            {
                var teacher = local?.Teacher ?? throw new InvalidOperationException($"role {role} needs the local model");
                var client = options.Mode == TeacherMode.Completion ? new RawPromptChatClient(teacher.Client) : teacher.Client;
                return options.Rehearsal
                    ? (client.AsBuilder().UseRehearsal(new RehearsalScript(0)).Build(), teacher.Description + " (rehearsal: scripted answers, not real data)")
                    : (client, teacher.Description);
            }
            var router = remote!.RouterFor(indexes);
            return (router, RemoteTeacher.Describe(router.Endpoints));
        }

        var generate = Play(TeacherRole.Generate);
        var mode = options.Mode == TeacherMode.Completion ? " (completion mode: raw prompts, no chat template)" : "";
        var roles = new Dictionary<TeacherRole, (IChatClient, string)>();
        foreach (var role in Enum.GetValues<TeacherRole>().Where(r => r != TeacherRole.Generate && options.Roles.ContainsKey(r)))
        {
            var (client, description) = Play(role);
            roles[role] = (client, description + mode);
        }
        var onLocal = options.EndpointsFor(TeacherRole.Generate).Count == 0;
        return new RunTeacher(generate.Client, generate.Description + mode, onLocal && local!.Teacher.IsDemo,
            onLocal ? local!.Teacher.CountTokens : RemoteTeacher.ApproximateTokens) { Roles = roles };
    }

    public void Dispose()
    {
        _remote?.Dispose();
        _local?.Dispose();
    }
}

using Microsoft.Extensions.Logging;
using SynthPipeline.Core.Options;
using SynthPipeline.Llama.Teacher;

namespace SynthPipeline.Pipeline.Teacher;

/// <summary>
/// The teacher a command's run uses, from validated settings: the endpoints of <c>Teacher:Endpoints</c> (checked
/// before any work starts), or else the local model (the demo model when none is configured). Disposing releases it.
/// </summary>
public sealed class TeacherSession : IDisposable
{
    private readonly IDisposable _owner;

    private TeacherSession(RunTeacher teacher, LlamaChatClient? engine, IDisposable owner)
    {
        Teacher = teacher;
        Engine = engine;
        _owner = owner;
    }

    public RunTeacher Teacher { get; }

    /// <summary>The local batching engine, for its metrics; null for remote endpoints.</summary>
    public LlamaChatClient? Engine { get; }

    public static async Task<TeacherSession> OpenAsync(TeacherOptions options, ILoggerFactory loggers, Action<string> notice, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.IsRemote)
        {
            var remote = RemoteTeacher.Create(options, loggers, TimeProvider.System);
            try
            {
                await remote.CheckAsync(cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                remote.Dispose();
                throw;
            }
            return new TeacherSession(remote.Teacher, null, remote);
        }
        var local = LocalTeacher.Load(options, loggers, notice, cancellationToken);
        return new TeacherSession(local.Teacher, local.Client, local);
    }

    public void Dispose() => _owner.Dispose();
}

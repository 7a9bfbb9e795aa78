using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using SynthPipeline.Core.Options;

namespace SynthPipeline.Pipeline.Teacher;

/// <summary>Stall, timeout and retry limits of the teacher calls of a run.</summary>
public sealed record TeacherResilience(TimeSpan Stall, TimeSpan Timeout, int Retries)
{
    public static TeacherResilience FromSeconds(int stallSeconds, int timeoutSeconds, int retries) =>
        new(TimeSpan.FromSeconds(stallSeconds), TimeSpan.FromSeconds(timeoutSeconds), retries);
}

/// <summary><see cref="ChatClientBuilder"/> extensions for the teacher middleware.</summary>
public static class TeacherChatClientBuilderExtensions
{
    /// <summary>Adds <see cref="ResilientChatClient"/>: stall detection on every call, timeout and retries for whole answers.</summary>
    public static ChatClientBuilder UseResilience(this ChatClientBuilder builder, TeacherResilience resilience, ILoggerFactory loggers, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(resilience);
        ArgumentNullException.ThrowIfNull(loggers);
        return builder.Use(inner => new ResilientChatClient(inner, resilience.Stall, resilience.Timeout, resilience.Retries, time ?? TimeProvider.System,
            loggers.CreateLogger<ResilientChatClient>()));
    }

    /// <summary>
    /// The chain every pipeline teacher call goes through: resilience (stall, timeout, retry) outside, logging of each
    /// attempt inside, the model last.
    /// </summary>
    public static IChatClient WithResilience(this IChatClient client, TeacherResilience resilience, ILoggerFactory loggers, TimeProvider? time = null) =>
        new ChatClientBuilder(client).UseResilience(resilience, loggers, time).UseLogging(loggers).Build();
}

/// <summary>The run's middleware around each role's client.</summary>
public static class RoleChains
{
    /// <summary>
    /// <see cref="TeacherChatClientBuilderExtensions.WithResilience"/> around the client of every role; roles on the
    /// same client share one chain.
    /// </summary>
    public static IReadOnlyDictionary<TeacherRole, IChatClient> Build(RunTeacher teacher, TeacherResilience resilience, ILoggerFactory loggers, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        var chains = new Dictionary<IChatClient, IChatClient>(ReferenceEqualityComparer.Instance);
        return Enum.GetValues<TeacherRole>().ToDictionary(role => role, role =>
        {
            var client = teacher.For(role);
            if (!chains.TryGetValue(client, out var chain)) chains[client] = chain = client.WithResilience(resilience, loggers, time);
            return chain;
        });
    }
}

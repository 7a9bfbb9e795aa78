using System.ClientModel;
using System.ClientModel.Primitives;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using OpenAI;
using SynthPipeline.Core;
using SynthPipeline.Core.Options;

namespace SynthPipeline.Pipeline.Teacher;

/// <summary>
/// The teacher as a fleet of OpenAI-compatible servers (<c>Teacher:Endpoints</c>): one OpenAI client per endpoint
/// (Microsoft.Extensions.AI.OpenAI, streaming, its own retries off so the router decides), behind the
/// <see cref="EndpointRouter"/>. API keys are read from the environment variables the settings name and go nowhere
/// else: not into logs, the run's state, its settings or its card.
/// </summary>
public sealed class RemoteTeacher : IDisposable
{
    private RemoteTeacher(EndpointRouter router, string description)
    {
        Router = router;
        Teacher = new RunTeacher(router, description, IsDemo: false, CountTokens: ApproximateTokens);
    }

    public EndpointRouter Router { get; }

    /// <summary>The teacher as a run sees it.</summary>
    public RunTeacher Teacher { get; }

    /// <summary>
    /// Remote servers do not share their tokenizer; chunks are sized at about four characters a token, which over-counts
    /// for most English text, so a chunk stays within the server's context.
    /// </summary>
    public static int ApproximateTokens(string text) => ((text?.Length ?? 0) + 3) / 4;

    /// <summary>Builds the clients and the router from validated settings.</summary>
    public static RemoteTeacher Create(TeacherOptions options, ILoggerFactory loggers, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggers);
        var endpoints = options.Endpoints.Select((e, i) => new RemoteEndpoint(i, e, Client(e))).ToList();
        var description = "OpenAI-compatible endpoints: " + string.Join(", ", endpoints.Select(e => $"{e.Options.Model} at {e.Options.Url}"));
        return new RemoteTeacher(new EndpointRouter(endpoints, time, loggers.CreateLogger<EndpointRouter>()), description);
    }

    /// <summary>
    /// Asks every endpoint for its models before any work starts, so a wrong URL, a server that is down or a refused
    /// key is reported at once, naming the setting, instead of as a run full of failed requests.
    /// </summary>
    /// <exception cref="UserErrorException">An endpoint cannot be reached, refuses the key, or does not serve the model.</exception>
    public async Task CheckAsync(CancellationToken cancellationToken)
    {
        foreach (var endpoint in Router.Endpoints)
        {
            var o = endpoint.Options;
            var models = new OpenAIClient(Credential(o), Settings(o)).GetOpenAIModelClient();
            try
            {
                var list = await models.GetModelsAsync(cancellationToken).ConfigureAwait(false);
                if (list.Value.Count > 0 && !list.Value.Any(m => string.Equals(m.Id, o.Model, StringComparison.Ordinal)))
                    throw new UserErrorException($"Teacher:Endpoints:{endpoint.Index}:Model: {o.Url} does not serve '{o.Model}'; it serves {string.Join(", ", list.Value.Select(m => m.Id))}");
            }
            catch (ClientResultException e) when (e.Status is 401 or 403)
            {
                throw new UserErrorException($"Teacher:Endpoints:{endpoint.Index}: {o.Url} refused the API key ({e.Status}); " +
                    (string.IsNullOrWhiteSpace(o.ApiKeyVariable) ? "set Teacher:Endpoints:N:ApiKeyVariable to the environment variable that holds the key" : $"check the key in ${o.ApiKeyVariable}"), e);
            }
            catch (ClientResultException e) when (e.Status is 404)
            {
                // A server without /models (some proxies) is not an error; requests will tell.
            }
            catch (ClientResultException e)
            {
                throw new UserErrorException($"Teacher:Endpoints:{endpoint.Index}:Url: {o.Url} cannot be reached ({e.Message})", e);
            }
        }
    }

    public void Dispose() => Router.Dispose();

    private static IChatClient Client(TeacherEndpointOptions o) => new OpenAI.Chat.ChatClient(o.Model, Credential(o), Settings(o)).AsIChatClient();

    // Servers without keys (vLLM, llama-server) still get a placeholder: the client requires one.
    private static ApiKeyCredential Credential(TeacherEndpointOptions o) =>
        new(string.IsNullOrWhiteSpace(o.ApiKeyVariable) ? "none" : Environment.GetEnvironmentVariable(o.ApiKeyVariable) ?? "none");

    private static OpenAIClientOptions Settings(TeacherEndpointOptions o) => new()
    {
        Endpoint = new Uri(o.Url),
        // The router moves failed requests between endpoints; the client's own retries would hide the failures from it.
        RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
        NetworkTimeout = TimeSpan.FromMinutes(30),
    };
}

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
/// (Microsoft.Extensions.AI.OpenAI, streaming, its own retries off so the router decides; in completion mode the raw
/// prompt to <c>/v1/completions</c>), and an <see cref="EndpointRouter"/> per set of endpoints a role uses, all sharing
/// the endpoints' slots and prefix memory. API keys are read from the environment variables the settings name and go
/// nowhere else: not into logs, the run's state, its settings or its card.
/// </summary>
public sealed class RemoteTeacher : IDisposable
{
    private readonly TimeProvider _time;
    private readonly ILogger<EndpointRouter> _logger;

    private RemoteTeacher(IReadOnlyList<RemoteEndpoint> endpoints, TimeProvider time, ILogger<EndpointRouter> logger)
    {
        Endpoints = endpoints;
        _time = time;
        _logger = logger;
        Router = RouterFor([.. Enumerable.Range(0, endpoints.Count)]);
        Teacher = new RunTeacher(Router, Describe(endpoints), IsDemo: false, CountTokens: ApproximateTokens);
    }

    public IReadOnlyList<RemoteEndpoint> Endpoints { get; }

    public EndpointFleet Fleet { get; } = new();

    /// <summary>The router over every endpoint.</summary>
    public EndpointRouter Router { get; }

    /// <summary>The teacher as a run sees it, every role on every endpoint.</summary>
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
        var endpoints = options.Endpoints.Select((e, i) => new RemoteEndpoint(i, e, Client(e, options.Mode))).ToList();
        return new RemoteTeacher(endpoints, time, loggers.CreateLogger<EndpointRouter>());
    }

    /// <summary>A router over the endpoints at <paramref name="indexes"/>, sharing slots and prefix memory with every other.</summary>
    public EndpointRouter RouterFor(IReadOnlyList<int> indexes)
    {
        ArgumentNullException.ThrowIfNull(indexes);
        return new EndpointRouter([.. indexes.Select(i => Endpoints[i])], _time, _logger, fleet: Fleet);
    }

    /// <summary>How the card names a set of endpoints.</summary>
    public static string Describe(IEnumerable<RemoteEndpoint> endpoints) =>
        "OpenAI-compatible endpoints: " + string.Join(", ", endpoints.Select(e => $"{e.Options.Model} at {e.Options.Url}"));

    /// <summary>
    /// Asks every endpoint for its models before any work starts, so a wrong URL, a server that is down or a refused
    /// key is reported at once, naming the setting, instead of as a run full of failed requests.
    /// </summary>
    /// <exception cref="UserErrorException">An endpoint cannot be reached, refuses the key, or does not serve the model.</exception>
    public async Task CheckAsync(CancellationToken cancellationToken)
    {
        foreach (var endpoint in Endpoints)
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

    public void Dispose()
    {
        foreach (var endpoint in Endpoints) endpoint.Dispose();
    }

    private static IChatClient Client(TeacherEndpointOptions o, TeacherMode mode) => mode == TeacherMode.Completion
        ? new RemoteCompletionClient(o.Model, Credential(o), Settings(o))
        : new ChatClientBuilder(new OpenAI.Chat.ChatClient(o.Model, Credential(o), Settings(o)).AsIChatClient()).UseServerExtensions().Build();

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

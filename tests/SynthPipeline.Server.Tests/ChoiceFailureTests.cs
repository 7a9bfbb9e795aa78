using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;
using SynthPipeline.Llama.Engine;

namespace SynthPipeline.Server.Tests;

/// <summary>
/// One of a request's choices failing mid-stream: the stream ends with an error event, and the other choices, which
/// would otherwise stream forever, are cancelled. The model here fails choice 1 (seed 101) after two pieces.
/// </summary>
public sealed class ChoiceFailureTests
{
    [Fact]
    public async Task ChatCompletions_OneChoiceFailsMidStream_EndsWithAnErrorEventAndCancelsTheOthers()
    {
        var model = new OneChoiceFails(failingSeed: 101);
        await using var server = await SynthServer.StartAsync(model, () => new EngineMetrics(0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0),
            new ServeOptions { Port = 0, ModelId = "flaky" }, NullLoggerFactory.Instance, null, CancellationToken.None);
        var body = JsonSerializer.Serialize(new { messages = new[] { new { role = "user", content = "Talk." } }, stream = true, n = 3, seed = 100 });
        using var http = new HttpClient();

        using var response = await http.PostAsync(new Uri(server.Address + "/v1/chat/completions"), new StringContent(body, Encoding.UTF8, "application/json"));
        var events = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);

        using var last = JsonDocument.Parse(events[^1]["data: ".Length..]);
        Assert.Equal("server_error", last.RootElement.GetProperty("error").GetProperty("type").GetString());
        await model.OthersStopped.Task;
        Assert.Equal(1, server.Counters.Failed);
        Assert.Equal(0, server.Counters.InFlight);
    }

    private sealed class OneChoiceFails(long failingSeed) : IChatClient
    {
        private int _othersStopped;

        /// <summary>Set once both choices that do not fail have ended.</summary>
        public TaskCompletionSource OthersStopped { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
            [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            var fails = options?.Seed == failingSeed;
            try
            {
                for (var piece = 0; ; piece++)
                {
                    if (fails && piece == 2) throw new InvalidOperationException("the model broke");
                    yield return new ChatResponseUpdate(ChatRole.Assistant, "word ");
                    await Task.Delay(5, cancellationToken);
                }
            }
            finally
            {
                if (!fails && Interlocked.Increment(ref _othersStopped) == 2) OthersStopped.TrySetResult();
            }
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}

using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;
using SynthPipeline.Llama.Engine;

namespace SynthPipeline.Server.Tests;

/// <summary>
/// A client that leaves mid-stream cancels its generation. The model here streams until it is cancelled, so the test
/// does not race a real model finishing first; that the engine ends a cancelled sequence is tested in the Llama tests.
/// </summary>
public sealed class DisconnectTests
{
    [Fact]
    public async Task ChatCompletions_ClientDisconnectsMidStream_CancelsTheGeneration()
    {
        var model = new EndlessChatClient();
        await using var server = await SynthServer.StartAsync(model, () => new EngineMetrics(0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0),
            new ServeOptions { Port = 0, ModelId = "endless" }, NullLoggerFactory.Instance, null, CancellationToken.None);
        var body = JsonSerializer.Serialize(new { messages = new[] { new { role = "user", content = "Talk forever." } }, stream = true });
        using var http = new HttpClient();

        using (var cts = new CancellationTokenSource())
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.Address + "/v1/chat/completions")) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cts.Token));
            Assert.StartsWith("data: ", await reader.ReadLineAsync(cts.Token), StringComparison.Ordinal);
            await model.Streaming.Task;
            await cts.CancelAsync();
        }

        await model.Cancelled.Task;
        while (server.Counters.Disconnected == 0) await Task.Delay(10);
        Assert.Equal(0, server.Counters.InFlight);
        Assert.Equal(0, server.Counters.Failed);
    }

    private sealed class EndlessChatClient : IChatClient
    {
        public TaskCompletionSource Streaming { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
            [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            using var registration = cancellationToken.Register(() => Cancelled.TrySetResult());
            while (true)
            {
                yield return new ChatResponseUpdate(ChatRole.Assistant, "word ");
                Streaming.TrySetResult();
                await Task.Delay(5, cancellationToken);
            }
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}

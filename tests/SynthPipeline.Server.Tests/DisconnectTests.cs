using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;
using SynthPipeline.Llama.Engine;

namespace SynthPipeline.Server.Tests;

/// <summary>
/// A client that leaves mid-stream ends its generation. The model here streams until it is stopped, so the test does
/// not race a real model finishing first. The server stops it in one of two ways, whichever comes first: the request's
/// token is cancelled, or the handler sees the cancellation flag while the token's callbacks are still running, leaves
/// its loop and disposes the stream (which unregisters a callback not yet run). The teacher ends its sequence on
/// either (<c>GenerationTests.GetStreamingResponseAsync_ReaderStopsEarlyWithoutCancelling_EndsTheGeneration</c> in the
/// Llama tests, and that the engine ends a cancelled sequence there too).
/// </summary>
public sealed class DisconnectTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task ChatCompletions_ClientDisconnectsMidStream_CancelsEveryChoicesGeneration(int choices)
    {
        var model = new EndlessChatClient(choices);
        await using var server = await SynthServer.StartAsync(model, () => new EngineMetrics(0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0),
            new ServeOptions { Port = 0, ModelId = "endless" }, NullLoggerFactory.Instance, null, CancellationToken.None);
        var body = JsonSerializer.Serialize(new { messages = new[] { new { role = "user", content = "Talk forever." } }, stream = true, n = choices });
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

        await model.Stopped.Task;
        while (server.Counters.Disconnected == 0) await Task.Delay(10);
        Assert.Equal(0, server.Counters.InFlight);
        Assert.Equal(0, server.Counters.Failed);
    }

    /// <summary>Streams words until stopped; the tasks complete once all <paramref name="streams"/> streams have streamed, and have stopped.</summary>
    private sealed class EndlessChatClient(int streams) : IChatClient
    {
        private int _streaming;
        private int _stopped;

        public TaskCompletionSource Streaming { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Set once every stream has ended: cancelled, or disposed by a reader that left.</summary>
        public TaskCompletionSource Stopped { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
            [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            var counted = false;
            try
            {
                while (true)
                {
                    yield return new ChatResponseUpdate(ChatRole.Assistant, "word ");
                    if (!counted && Interlocked.Increment(ref _streaming) == streams) Streaming.TrySetResult();
                    counted = true;
                    await Task.Delay(5, cancellationToken);
                }
            }
            finally
            {
                if (Interlocked.Increment(ref _stopped) == streams) Stopped.TrySetResult();
            }
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}

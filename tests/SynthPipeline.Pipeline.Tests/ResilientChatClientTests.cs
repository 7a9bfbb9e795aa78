using SynthPipeline.Pipeline.State;
using SynthPipeline.Pipeline.Teacher;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;
using SynthPipeline.Pipeline.SelfInstruct;

namespace SynthPipeline.Pipeline.Tests;

public sealed class ResilientChatClientTests
{
    /// <summary>A teacher that sends one piece of text, then (for the first <c>stalls</c> calls) never another.</summary>
    private sealed class StallingClient(int stalls) : IChatClient
    {
        public int Calls;

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
            [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            var call = Interlocked.Increment(ref Calls);
            yield return new ChatResponseUpdate(ChatRole.Assistant, "1. Write");
            if (call <= stalls) await Task.Delay(Timeout.Infinite, cancellationToken);
            yield return new ChatResponseUpdate(ChatRole.Assistant, " a poem.") { FinishReason = ChatFinishReason.Stop };
        }

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose() { }
    }

    private static ResilientChatClient Resilient(IChatClient client, int retries) =>
        new(client, TimeSpan.FromMilliseconds(300), TimeSpan.FromSeconds(30), retries, TimeProvider.System, NullLogger.Instance);

    [Fact]
    public async Task GetResponseAsync_StallThenProgress_RetriesAndReturnsTheAnswer()
    {
        var inner = new StallingClient(stalls: 1);
        var response = await Resilient(inner, retries: 2).GetResponseAsync([new ChatMessage(ChatRole.User, "go")]);
        Assert.Equal("1. Write a poem.", response.Text);
        Assert.Equal(2, response.AdditionalProperties![ResilientChatClient.AttemptsKey]);
    }

    [Fact]
    public async Task GetResponseAsync_StallsEveryTime_ThrowsStalledAfterEveryRetryWithoutHanging()
    {
        var inner = new StallingClient(stalls: int.MaxValue);
        var e = await Assert.ThrowsAsync<TeacherStalledException>(() =>
            Resilient(inner, retries: 2).GetResponseAsync([new ChatMessage(ChatRole.User, "go")]).WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.Equal(3, e.Data[ResilientChatClient.AttemptsKey]);
        Assert.Equal(3, inner.Calls);
    }

    [Fact]
    public async Task AskAsync_TeacherKeepsStalling_RecordsAFailureAsDataInTheStore()
    {
        var folder = Path.Combine(Path.GetTempPath(), "synth-teacher-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        using var store = State.RunStore.Open(folder);
        var requests = new TeacherRequests(Resilient(new StallingClient(int.MaxValue), retries: 1), store, new TeacherCounters(TimeProvider.System));

        var outcome = await requests.AskAsync("instruction:0", "instruction", "go", new ChatOptions(), CancellationToken.None);

        Assert.False(outcome.Succeeded);
        Assert.Equal("teacher_stalled", outcome.FailureReason);
        Assert.Equal(2, outcome.Attempts);
        var saved = store.GetRequest("instruction:0")!;
        Assert.Equal((RequestStatus.Failed, "teacher_stalled", 2), (saved.Status, saved.Reason, saved.Attempts));
        // A resumed run gets the recorded failure back instead of asking again.
        Assert.Equal(outcome, await requests.AskAsync("instruction:0", "instruction", "go", new ChatOptions(), CancellationToken.None));
    }

    [Fact]
    public async Task GetResponseAsync_CallerCancels_ThrowsCancellationNotAFailure()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            Resilient(new StallingClient(int.MaxValue), retries: 2).GetResponseAsync([new ChatMessage(ChatRole.User, "go")], cancellationToken: cancel.Token));
    }
}

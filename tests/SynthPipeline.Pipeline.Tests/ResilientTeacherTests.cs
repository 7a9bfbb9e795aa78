using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;
using SynthPipeline.Pipeline.Stages;

namespace SynthPipeline.Pipeline.Tests;

public sealed class ResilientTeacherTests
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

    private static ResilientTeacher Teacher(IChatClient client, int retries) =>
        new(client, TimeSpan.FromMilliseconds(300), TimeSpan.FromSeconds(30), retries, TimeProvider.System, NullLogger.Instance);

    [Fact]
    public async Task AskAsync_StallThenProgress_RetriesAndReturnsTheAnswer()
    {
        var client = new StallingClient(stalls: 1);
        var outcome = await Teacher(client, retries: 2).AskAsync([new ChatMessage(ChatRole.User, "go")], new ChatOptions(), CancellationToken.None);
        Assert.True(outcome.Succeeded);
        Assert.Equal("1. Write a poem.", outcome.Text);
        Assert.Equal(2, outcome.Attempts);
    }

    [Fact]
    public async Task AskAsync_StallsEveryTime_RecordsAFailureInsteadOfThrowingOrHanging()
    {
        var client = new StallingClient(stalls: int.MaxValue);
        var outcome = await Teacher(client, retries: 2).AskAsync([new ChatMessage(ChatRole.User, "go")], new ChatOptions(), CancellationToken.None)
            .WaitAsync(TimeSpan.FromSeconds(20));
        Assert.False(outcome.Succeeded);
        Assert.Equal("teacher_stalled", outcome.FailureReason);
        Assert.Equal(3, outcome.Attempts);
        Assert.Equal(3, client.Calls);
    }

    [Fact]
    public async Task AskAsync_CallerCancels_ThrowsCancellationNotAFailureRecord()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            Teacher(new StallingClient(int.MaxValue), retries: 2).AskAsync([new ChatMessage(ChatRole.User, "go")], new ChatOptions(), cancel.Token));
    }
}

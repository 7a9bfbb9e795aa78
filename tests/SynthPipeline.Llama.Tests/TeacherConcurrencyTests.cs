using Microsoft.Extensions.AI;
using SynthPipeline.Llama.Teacher;

namespace SynthPipeline.Llama.Tests;

[Collection(DemoModelCollection.Name)]
public sealed class TeacherConcurrencyTests(DemoModelFixture fixture)
{
    private LlamaChatClient NewClient() => fixture.CreateClient(4096);

    private static readonly ChatOptions Greedy = new() { Temperature = 0, MaxOutputTokens = 24 };

    [Fact]
    public async Task GetResponseAsync_ManyConcurrentCallers_EachGetsTheAnswerItWouldGetAlone()
    {
        using var client = NewClient();
        var prompts = Enumerable.Range(0, 8).Select(i => $"Task {i}: write a word.").ToList();
        var alone = new List<string>();
        foreach (var p in prompts) alone.Add((await client.GetResponseAsync([new ChatMessage(ChatRole.User, p)], Greedy)).Text);

        var together = await Task.WhenAll(prompts.Select(p => Task.Run(() => client.GetResponseAsync([new ChatMessage(ChatRole.User, p)], Greedy))));
        Assert.Equal(alone, together.Select(r => r.Text));
        Assert.All(together, r => Assert.Equal(24, r.Usage!.OutputTokenCount));
    }

    [Fact]
    public async Task GetStreamingResponseAsync_LongGeneration_UpdatesArriveWhileItRunsNotAtTheEnd()
    {
        using var client = NewClient();
        var options = new ChatOptions { MaxOutputTokens = 3000, Temperature = 1, Seed = 1 };
        options.AdditionalProperties = new() { [ChatOptionsMapper.IgnoreEosKey] = true };
        var clock = System.Diagnostics.Stopwatch.StartNew();
        TimeSpan? first = null;
        await foreach (var update in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "Write a long story.")], options))
            first ??= clock.Elapsed;
        // A ratio, not a speed target: generation on a thread-pool thread once delayed every update to the very end.
        // Half, not less: with other test classes busy on two cores, the prompt alone once took a third of the time.
        Assert.True(first < clock.Elapsed / 2, $"first update after {first?.TotalMilliseconds:F0} ms of {clock.Elapsed.TotalMilliseconds:F0} ms");
    }

    [Fact]
    public async Task Dispose_WhileGeneratingAndWithAQueuedRequest_BothEndWithObjectDisposedAndNothingCrashes()
    {
        var client = NewClient();
        // About 4,000 tokens: long enough that Dispose lands mid-generation even on a busy 2-core machine.
        var longRun = new ChatOptions { MaxOutputTokens = 4000, Temperature = 1, Seed = 1 };
        longRun.AdditionalProperties = new() { [ChatOptionsMapper.IgnoreEosKey] = true };
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = Task.Run(async () =>
        {
            await foreach (var _ in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "Write a long story.")], longRun))
                started.TrySetResult();
        });
        await started.Task;
        var queued = client.GetResponseAsync([new ChatMessage(ChatRole.User, "queued")], Greedy);

        client.Dispose();

        var e1 = await Assert.ThrowsAsync<ObjectDisposedException>(() => running);
        Assert.Contains("disposed while this request was running", e1.Message, StringComparison.Ordinal);
        // The queued request is either still waiting or has just been handed the gate when the shutdown lands.
        var e2 = await Assert.ThrowsAsync<ObjectDisposedException>(() => queued);
        Assert.Contains("the teacher was disposed while this request was", e2.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.GetResponseAsync([new ChatMessage(ChatRole.User, "after")], Greedy));
    }

    [Fact]
    public async Task Dispose_AfterTheCallerCancelled_RequestsEndCancelledNotDisposed()
    {
        var client = NewClient();
        var longRun = new ChatOptions { MaxOutputTokens = 4000, Temperature = 1, Seed = 1 };
        longRun.AdditionalProperties = new() { [ChatOptionsMapper.IgnoreEosKey] = true };
        using var stop = new CancellationTokenSource();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = Task.Run(async () =>
        {
            await foreach (var _ in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "Write a long story.")], longRun, stop.Token))
                started.TrySetResult();
        });
        await started.Task;
        var queued = client.GetResponseAsync([new ChatMessage(ChatRole.User, "queued")], Greedy, stop.Token);

        // What Ctrl+C does: cancel the run, then dispose the teacher without waiting for the engine to notice.
        await stop.CancelAsync();
        client.Dispose();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queued);
    }
}

using SynthPipeline.Llama.Engine;
using System.Text.Json;
using Microsoft.Extensions.AI;
using SynthPipeline.Llama.Teacher;
using SynthPipeline.Llama.Gguf;

namespace SynthPipeline.Llama.Tests;

[Collection(DemoModelCollection.Name)]
public sealed class GenerationTests(DemoModelFixture fixture) : IDisposable
{
    private readonly LlamaChatClient _client = fixture.CreateClient(defaultMaxOutputTokens: 48);

    private static List<ChatMessage> Ask(string text) => [new(ChatRole.User, text)];

    [Fact]
    public async Task GetResponseAsync_Greedy_IsDeterministic()
    {
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 40 };
        var a = await _client.GetResponseAsync(Ask("Give three tips for staying healthy."), options);
        var b = await _client.GetResponseAsync(Ask("Give three tips for staying healthy."), options);
        Assert.Equal(40, a.Usage!.OutputTokenCount);
        Assert.False(string.IsNullOrEmpty(a.Text));
        Assert.Equal(a.Text, b.Text);
    }

    [Fact]
    public async Task GetResponseAsync_SameSeed_ReproducesAndOtherSeedDiffers()
    {
        ChatOptions Seeded(long seed) => new() { Temperature = 1.0f, TopK = 0, TopP = 1, Seed = seed, MaxOutputTokens = 32 };
        var a = await _client.GetResponseAsync(Ask("Write a story."), Seeded(7));
        var b = await _client.GetResponseAsync(Ask("Write a story."), Seeded(7));
        var c = await _client.GetResponseAsync(Ask("Write a story."), Seeded(8));
        Assert.Equal(a.Text, b.Text);
        Assert.NotEqual(a.Text, c.Text);
    }

    [Fact]
    public async Task GetResponseAsync_JsonResponseFormat_AlwaysParses()
    {
        for (var seed = 0; seed < 6; seed++)
        {
            var options = new ChatOptions { ResponseFormat = ChatResponseFormat.Json, Temperature = 1.0f, Seed = seed, MaxOutputTokens = 1200 };
            var response = await _client.GetResponseAsync(Ask("Describe a task as JSON."), options);
            using var doc = JsonDocument.Parse(response.Text);
            Assert.Equal(JsonValueKind.Object, doc.RootElement.ValueKind);
            Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        }
    }

    [Fact]
    public async Task GetResponseAsync_CustomGrammar_OutputMatchesGrammar()
    {
        var options = new ChatOptions { Temperature = 1.0f, Seed = 3, MaxOutputTokens = 64 };
        options.AdditionalProperties = new() { [ChatOptionsMapper.GrammarKey] = JsonGrammars.YesNo };
        var response = await _client.GetResponseAsync(Ask("Is this a classification task?"), options);
        Assert.Contains(response.Text, new[] { "yes", "no" });
    }

    [Fact]
    public async Task GetResponseAsync_InvalidGrammar_ThrowsClearError()
    {
        var options = new ChatOptions { MaxOutputTokens = 8 };
        options.AdditionalProperties = new() { [ChatOptionsMapper.GrammarKey] = "root ::= (" };
        var e = await Assert.ThrowsAsync<InvalidGrammarException>(() => _client.GetResponseAsync(Ask("x"), options));
        Assert.Contains("invalid GBNF grammar", e.Message, StringComparison.Ordinal);
        var after = await _client.GetResponseAsync(Ask("still works?"), new ChatOptions { MaxOutputTokens = 4, Temperature = 1, TopK = 0, TopP = 1, Seed = 1 });
        Assert.InRange(after.Usage!.OutputTokenCount!.Value, 1, 4);
    }

    [Fact]
    public async Task GetResponseAsync_StopSequence_EndsGenerationAndIsNotEmitted()
    {
        var greedy = new ChatOptions { Temperature = 0, MaxOutputTokens = 40 };
        var full = (await _client.GetResponseAsync(Ask("Explain the task."), greedy)).Text;
        Assert.True(full.Length > 12, $"need a longer greedy output to cut: '{full}'");
        var stop = full.Substring(full.Length / 2, 3);
        var cut = full[..full.IndexOf(stop, StringComparison.Ordinal)];

        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 40, StopSequences = [stop] };
        var stopped = await _client.GetResponseAsync(Ask("Explain the task."), options);
        Assert.Equal(cut, stopped.Text);
        Assert.DoesNotContain(stop, stopped.Text, StringComparison.Ordinal);
        Assert.Equal(ChatFinishReason.Stop, stopped.FinishReason);
        Assert.True(stopped.Usage!.OutputTokenCount < 40);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_Greedy_MatchesNonStreamingAndReportsUsage()
    {
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 30 };
        var whole = await _client.GetResponseAsync(Ask("List three words."), options);
        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in _client.GetStreamingResponseAsync(Ask("List three words."), options)) updates.Add(u);
        Assert.True(updates.Count > 2);
        Assert.Equal(whole.Text, string.Concat(updates.Select(u => u.Text)));
        var usage = updates.SelectMany(u => u.Contents).OfType<UsageContent>().Single().Details;
        Assert.Equal(30, usage.OutputTokenCount);
        Assert.Equal(whole.Usage!.InputTokenCount, usage.InputTokenCount);
        Assert.Equal(ChatFinishReason.Length, updates[^1].FinishReason);
    }

    [Fact]
    public void Generate_CancelledFromTheTextCallback_StopsBeforeTheNextToken()
    {
        using var context = LlamaContext.Create(fixture.Model, new LlamaContextOptions { ContextSize = 1024, Threads = 2 });
        using var generator = new SequentialGenerator(context);
        using var cts = new CancellationTokenSource();
        var pieces = 0;
        var prompt = fixture.Model.Vocab.Tokenize("Write a long story.");
        var request = new GenerationRequest(prompt, new SamplingSettings { Temperature = 1, TopK = 0, TopP = 1, Seed = 1 }, 500, []);
        Assert.ThrowsAny<OperationCanceledException>(() => generator.Generate(request, _ =>
        {
            if (++pieces == 5) cts.Cancel();
        }, cts.Token));
        Assert.Equal(5, pieces);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_ReaderCancels_ThrowsAndClientStaysUsable()
    {
        using var cts = new CancellationTokenSource();
        var received = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var u in _client.GetStreamingResponseAsync(Ask("Write a long story."), new ChatOptions { MaxOutputTokens = 1500 }, cts.Token))
            {
                if (++received == 1) await cts.CancelAsync();
            }
        });
        Assert.Equal(1, received);
        var after = await _client.GetResponseAsync(Ask("ok"), new ChatOptions { MaxOutputTokens = 3, Temperature = 1, TopK = 0, TopP = 1, Seed = 1 });
        Assert.InRange(after.Usage!.OutputTokenCount!.Value, 1, 3);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_ReaderStopsEarlyWithoutCancelling_EndsTheGeneration()
    {
        // synth serve's handler can leave its loop on a client's cancellation before the token's callbacks have run,
        // and its disposal of the stream unregisters them: leaving must end the sequence, not let it run to its limit.
        // 4,000 tokens that no end of turn cuts short, where the first piece comes after about 20 ms.
        using var client = fixture.CreateClient(contextPerSequence: DemoModel.ContextLength);
        var options = new ChatOptions { MaxOutputTokens = 4000, AdditionalProperties = new() { [ChatOptionsMapper.IgnoreEosKey] = true } };
        var received = 0;
        await foreach (var u in client.GetStreamingResponseAsync(Ask("Write a long story."), options))
        {
            if (++received == 1) break;
        }
        // Without the stream ending the sequence on disposal, it would still be generating here.
        Assert.Equal(0, client.Metrics().ActiveSequences);
    }

    [Fact]
    public void FormatPrompt_DemoModel_UsesChatMlAndEndsWithAssistantPrompt()
    {
        var prompt = _client.FormatPrompt([new ChatMessage(ChatRole.System, "Be brief."), new ChatMessage(ChatRole.User, "hi")]);
        Assert.Equal("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n", prompt);
    }

    [Fact]
    public async Task GetResponseAsync_PromptLongerThanContext_ThrowsNamingTheSetting()
    {
        var prompt = string.Join(' ', Enumerable.Repeat("zq", 3000));
        var e = await Assert.ThrowsAsync<PromptTooLongException>(() => _client.GetResponseAsync(Ask(prompt)));
        Assert.Contains("Teacher:ContextPerSequence", e.Message, StringComparison.Ordinal);
    }

    public void Dispose() => _client.Dispose();
}

using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace SynthPipeline.Server.Tests;

/// <summary>
/// OpenAI's <c>n</c> over raw HTTP: several answers to one prompt, each what the model gives with its own seed
/// (choice i samples with seed + i), whole or streamed with each piece tagged by its choice, and the usage counting
/// the prompt once.
/// </summary>
[Collection(ServedModelCollection.Name)]
public sealed class ChoicesTests(ServedModel served)
{
    private const string Prompt = "Write a short poem about rain.";
    private const int Seed = 11;
    private const int Tokens = 12;

    private static readonly HttpClient Http = new();

    private Task<HttpResponseMessage> PostAsync(string json) =>
        Http.PostAsync(new Uri(served.Api + "/chat/completions"), new StringContent(json, Encoding.UTF8, "application/json"));

    private static string Body(int n, bool stream, string prompt = Prompt) => JsonSerializer.Serialize(new
    {
        messages = new[] { new { role = "user", content = prompt } },
        n, seed = Seed, temperature = 0.9, max_tokens = Tokens, stream,
        stream_options = stream ? new { include_usage = true } : null,
    });

    private async Task<ChatResponse> LocalAsync(int seed) =>
        await served.Local.GetResponseAsync([new ChatMessage(ChatRole.User, Prompt)],
            new ChatOptions { Seed = seed, Temperature = 0.9f, MaxOutputTokens = Tokens });

    [Fact]
    public async Task ChatCompletions_ThreeChoicesWithASeed_AreTheModelsAnswersForSeedPlusIndex_PromptCountedOnce()
    {
        var before = served.Local.Metrics();
        using var response = await PostAsync(Body(3, stream: false));
        response.EnsureSuccessStatusCode();
        var after = served.Local.Metrics();
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        // The choices share the prompt's KV: it is computed once, and each other choice decodes only its last token.
        var promptTokens = json.RootElement.GetProperty("usage").GetProperty("prompt_tokens").GetInt64();
        Assert.InRange(after.PromptTokensProcessed - before.PromptTokensProcessed, 1, promptTokens + 2);
        var choices = json.RootElement.GetProperty("choices").EnumerateArray().ToList();
        Assert.Equal([0, 1, 2], choices.Select(c => c.GetProperty("index").GetInt32()));
        var expected = new List<ChatResponse>();
        for (var i = 0; i < 3; i++) expected.Add(await LocalAsync(Seed + i));
        Assert.Equal(expected.Select(e => e.Text), choices.Select(c => c.GetProperty("message").GetProperty("content").GetString()));
        // The seeds differ, so the sampled answers do (the test would prove nothing if they all matched one answer).
        Assert.Equal(3, expected.Select(e => e.Text).Distinct().Count());
        var usage = json.RootElement.GetProperty("usage");
        Assert.Equal(expected[0].Usage!.InputTokenCount, usage.GetProperty("prompt_tokens").GetInt64());
        Assert.Equal(expected.Sum(e => e.Usage!.OutputTokenCount), usage.GetProperty("completion_tokens").GetInt64());
    }

    [Fact]
    public async Task ChatCompletions_TwoChoicesStreamed_TagEachPieceWithItsChoiceAndEndEachOnce()
    {
        using var whole = await PostAsync(Body(2, stream: false));
        using var wholeJson = JsonDocument.Parse(await whole.Content.ReadAsStringAsync());
        using var streamed = await PostAsync(Body(2, stream: true));
        var events = (await streamed.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal("data: [DONE]", events[^1]);
        var texts = new[] { new StringBuilder(), new StringBuilder() };
        var roles = new int[2];
        var finishes = new int[2];
        JsonElement? usage = null;
        foreach (var e in events[..^1])
        {
            using var chunk = JsonDocument.Parse(e["data: ".Length..]);
            if (chunk.RootElement.TryGetProperty("usage", out var u)) usage = u.Clone();
            foreach (var choice in chunk.RootElement.GetProperty("choices").EnumerateArray())
            {
                var index = choice.GetProperty("index").GetInt32();
                var delta = choice.GetProperty("delta");
                if (delta.TryGetProperty("role", out _)) roles[index]++;
                if (delta.TryGetProperty("content", out var content)) texts[index].Append(content.GetString());
                if (choice.GetProperty("finish_reason").ValueKind != JsonValueKind.Null) finishes[index]++;
            }
        }

        var wholeChoices = wholeJson.RootElement.GetProperty("choices");
        Assert.Equal([wholeChoices[0].GetProperty("message").GetProperty("content").GetString(), wholeChoices[1].GetProperty("message").GetProperty("content").GetString()],
            texts.Select(t => t.ToString()));
        Assert.Equal([1, 1], roles);
        Assert.Equal([1, 1], finishes);
        Assert.NotNull(usage);
        Assert.Equal(wholeJson.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt64(), usage!.Value.GetProperty("completion_tokens").GetInt64());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ChatCompletions_ThreeChoicesOfAPromptOverTheContext_Is400NamingMessages(bool stream)
    {
        var tooLong = string.Join(' ', Enumerable.Repeat("river", ServedModel.Context * 2));
        using var response = await PostAsync(Body(3, stream, tooLong));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("messages", json.RootElement.GetProperty("error").GetProperty("param").GetString());
        Assert.Equal("context_length_exceeded", json.RootElement.GetProperty("error").GetProperty("code").GetString());
    }
}

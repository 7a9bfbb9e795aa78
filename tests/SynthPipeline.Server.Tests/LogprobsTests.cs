using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using SynthPipeline.Llama.Engine;
using SynthPipeline.Llama.Teacher;

namespace SynthPipeline.Server.Tests;

/// <summary>
/// Log-probabilities over raw HTTP in both routes' shapes: one entry per generated token, its alternatives most likely
/// first, the values the engine computes in-process, the same whether streamed or not. (The engine's values against
/// the log-softmax of the model's logits: <c>BatchedEngineTests</c>.)
/// </summary>
[Collection(ServedModelCollection.Name)]
public sealed class LogprobsTests(ServedModel served)
{
    private const string Prompt = "List three colours.";

    private static readonly HttpClient Http = new();

    private async Task<JsonDocument> PostAsync(string route, object body)
    {
        using var response = await Http.PostAsync(new Uri(served.Api + route), new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync());
    }

    private static object Chat(bool stream) => new
    {
        messages = new[] { new { role = "user", content = Prompt } },
        temperature = 0, max_tokens = 8, logprobs = true, top_logprobs = 3, stream,
    };

    [Fact]
    public async Task ChatCompletions_Logprobs_GiveEachTokenWithItsAlternativesAsTheEngineComputesThem()
    {
        using var json = await PostAsync("/chat/completions", Chat(stream: false));
        var choice = json.RootElement.GetProperty("choices")[0];
        var content = choice.GetProperty("logprobs").GetProperty("content").EnumerateArray().ToList();

        Assert.Equal(json.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32(), content.Count);
        var bytes = content.SelectMany(e => e.GetProperty("bytes").EnumerateArray().Select(b => (byte)b.GetInt32())).ToArray();
        Assert.Equal(choice.GetProperty("message").GetProperty("content").GetString(), Encoding.UTF8.GetString(bytes));
        foreach (var entry in content)
        {
            var top = entry.GetProperty("top_logprobs").EnumerateArray().Select(a => (Token: a.GetProperty("token").GetString(), Logprob: a.GetProperty("logprob").GetDouble())).ToList();
            Assert.Equal(3, top.Count);
            Assert.True(top[0].Logprob >= top[1].Logprob && top[1].Logprob >= top[2].Logprob, "alternatives not most likely first");
            // Greedy: the chosen token is the most likely one.
            Assert.Equal(top[0].Token, entry.GetProperty("token").GetString());
            Assert.Equal(top[0].Logprob, entry.GetProperty("logprob").GetDouble());
            Assert.True(entry.GetProperty("logprob").GetDouble() <= 0);
        }

        var local = await served.Local.GetResponseAsync([new ChatMessage(ChatRole.User, Prompt)], new ChatOptions
        {
            Temperature = 0, MaxOutputTokens = 8, AdditionalProperties = new() { [ChatOptionsMapper.TopLogprobsKey] = 3 },
        });
        var expected = (IReadOnlyList<TokenLogprob>)local.AdditionalProperties![ChatOptionsMapper.LogprobsKey]!;
        Assert.Equal(expected.Select(e => e.Chosen.Logprob), content.Select(e => e.GetProperty("logprob").GetSingle()));
    }

    [Fact]
    public async Task ChatCompletions_LogprobsStreamed_ComeWithTheLastChunkAndEqualTheWholeAnswers()
    {
        using var whole = await PostAsync("/chat/completions", Chat(stream: false));
        using var response = await Http.PostAsync(new Uri(served.Api + "/chat/completions"),
            new StringContent(JsonSerializer.Serialize(Chat(stream: true)), Encoding.UTF8, "application/json"));
        var events = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);

        var withLogprobs = events[..^1].Select(e => JsonDocument.Parse(e["data: ".Length..]).RootElement.GetProperty("choices")[0])
            .Where(c => c.GetProperty("logprobs").ValueKind != JsonValueKind.Null).ToList();
        var last = Assert.Single(withLogprobs);
        Assert.NotEqual(JsonValueKind.Null, last.GetProperty("finish_reason").ValueKind);
        Assert.Equal(whole.RootElement.GetProperty("choices")[0].GetProperty("logprobs").GetRawText(), last.GetProperty("logprobs").GetRawText());
    }

    [Fact]
    public async Task ChatCompletions_WithoutLogprobs_SayNull()
    {
        using var json = await PostAsync("/chat/completions", new { messages = new[] { new { role = "user", content = Prompt } }, max_tokens = 2 });

        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("choices")[0].GetProperty("logprobs").ValueKind);
    }

    [Fact]
    public async Task Completions_Logprobs_InTheLegacyShape()
    {
        using var json = await PostAsync("/completions", new { prompt = "Once upon a time", temperature = 0, max_tokens = 6, logprobs = 2 });
        var choice = json.RootElement.GetProperty("choices")[0];
        var logprobs = choice.GetProperty("logprobs");

        var tokens = logprobs.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!).ToList();
        Assert.Equal(json.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32(), tokens.Count);
        Assert.Equal(choice.GetProperty("text").GetString(), string.Concat(tokens));
        Assert.All(logprobs.GetProperty("token_logprobs").EnumerateArray(), l => Assert.True(l.GetDouble() <= 0));
        var top = logprobs.GetProperty("top_logprobs").EnumerateArray().ToList();
        Assert.All(top, t => Assert.InRange(t.EnumerateObject().Count(), 1, 2));
        // Greedy: each chosen token is among its position's two most likely.
        for (var i = 0; i < tokens.Count; i++) Assert.True(top[i].TryGetProperty(tokens[i], out _), $"token {i} '{tokens[i]}' is not among its alternatives");
        var offsets = logprobs.GetProperty("text_offset").EnumerateArray().Select(o => o.GetInt32()).ToList();
        Assert.Equal(tokens.Select((_, i) => string.Concat(tokens.Take(i)).Length), offsets);
    }
}

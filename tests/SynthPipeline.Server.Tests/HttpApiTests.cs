using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;

namespace SynthPipeline.Server.Tests;

/// <summary>The server's routes over raw HTTP: refusals that name the field, raw completions, metrics, disconnects, keys.</summary>
[Collection(ServedModelCollection.Name)]
public sealed class HttpApiTests(ServedModel served)
{
    private static readonly HttpClient Http = new();

    private Task<HttpResponseMessage> PostAsync(string route, string json, CancellationToken cancellationToken = default) =>
        Http.PostAsync(new Uri(served.Api + route), new StringContent(json, Encoding.UTF8, "application/json"), cancellationToken);

    [Theory]
    [InlineData("""{"model":"demo"}""", "messages")]
    [InlineData("""{"messages":[]}""", "messages")]
    [InlineData("""{"messages":[{"role":"robot","content":"hi"}]}""", "messages[0].role")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"},{"role":"user"}]}""", "messages[1].content")]
    [InlineData("""{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}""", "messages[0].content[0]")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"temperature":"hot"}""", "temperature")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"temperature":3}""", "temperature")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"top_p":0}""", "top_p")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"max_tokens":0}""", "max_tokens")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"n":0}""", "n")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"n":129}""", "n")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"n":"two"}""", "n")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"top_logprobs":3}""", "top_logprobs")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"logprobs":true,"top_logprobs":21}""", "top_logprobs")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"logprobs":"yes"}""", "logprobs")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"logit_bias":{"50256":-100}}""", "logit_bias")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}]}""", "tools")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"tool_choice":"required"}""", "tool_choice")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"seed":1.5}""", "seed")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"stop":["a","b","c","d","e"]}""", "stop")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"presence_penalty":-3}""", "presence_penalty")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"stream":"yes"}""", "stream")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"xml"}}""", "response_format.type")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object","patternProperties":{}}}}}""", "response_format.json_schema.schema")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"grammar":"root ::= ("}""", "grammar")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"priority":"high"}""", "priority")]
    public async Task ChatCompletions_BadField_Is400InOpenAiShapeNamingIt(string body, string param)
    {
        using var response = await PostAsync("/chat/completions", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var error = json.RootElement.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
    }

    [Fact]
    public async Task ChatCompletions_BodyNotJson_Is400SayingSo()
    {
        using var response = await PostAsync("/chat/completions", "{\"messages\": [");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("not valid JSON", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Completions_RawPrompt_IsGeneratedWithoutTheChatTemplate()
    {
        const string prompt = "Task 1: Write a haiku.\nTask 2:";
        using var response = await PostAsync("/completions", JsonSerializer.Serialize(new { prompt, max_tokens = 8, temperature = 0 }));
        response.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        var raw = await served.Local.GetResponseAsync([new ChatMessage(ChatRole.User, prompt)],
            new ChatOptions { MaxOutputTokens = 8, Temperature = 0, AdditionalProperties = new() { ["raw_prompt"] = true } });
        Assert.Equal("text_completion", json.RootElement.GetProperty("object").GetString());
        Assert.Equal(raw.Text, json.RootElement.GetProperty("choices")[0].GetProperty("text").GetString());
        var bos = served.Model.Vocab.AddsBos ? 1 : 0;
        Assert.Equal(served.Model.Vocab.Tokenize(prompt, addSpecial: false, parseSpecial: true).Length + bos,
            json.RootElement.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }

    [Fact]
    public async Task Completions_Streamed_EndsWithFinishUsageAndDone()
    {
        var body = JsonSerializer.Serialize(new { prompt = "Once upon a time", max_tokens = 6, temperature = 0, stream = true, stream_options = new { include_usage = true } });
        using var response = await PostAsync("/completions", body);
        var events = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("data: [DONE]", events[^1]);
        using var usage = JsonDocument.Parse(events[^2]["data: ".Length..]);
        Assert.Equal(6, usage.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        using var last = JsonDocument.Parse(events[^3]["data: ".Length..]);
        Assert.Equal("length", last.RootElement.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Theory]
    [InlineData("""{"prompt":"Once","logprobs":21}""", "logprobs")]
    [InlineData("""{"prompt":"Once","logprobs":true}""", "logprobs")]
    [InlineData("""{"prompt":"Once","best_of":3}""", "best_of")]
    [InlineData("""{"prompt":"Once","n":200}""", "n")]
    public async Task Completions_BadOrUnsupportedField_Is400NamingIt(string body, string param)
    {
        using var response = await PostAsync("/completions", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(param, json.RootElement.GetProperty("error").GetProperty("param").GetString());
    }

    /// <summary>Clients that send these fields at their "off" values (as SDKs and proxies do) are answered.</summary>
    [Theory]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"max_tokens":2,"logprobs":false,"top_logprobs":0}""")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"max_tokens":2,"logprobs":null,"logit_bias":{}}""")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"max_tokens":2,"tools":[],"tool_choice":"none","n":1}""")]
    public async Task ChatCompletions_UnsupportedFeaturesLeftOff_AreAnswered(string body)
    {
        using var response = await PostAsync("/chat/completions", body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Completions_PromptArrayOfTwo_Is400NamingPrompt()
    {
        using var response = await PostAsync("/completions", """{"prompt":["a","b"]}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("\"param\":\"prompt\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_AfterARequest_ReportTokensAndRequestsInPrometheusText()
    {
        (await PostAsync("/completions", """{"prompt":"metrics","max_tokens":3}""")).EnsureSuccessStatusCode();

        using var response = await Http.GetAsync(new Uri(served.Server.Address + "/metrics"));
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal("text/plain", response.Content.Headers.ContentType!.MediaType);
        var samples = text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith('#'))
            .ToDictionary(l => l[..l.IndexOf('{', StringComparison.Ordinal)], l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(samples["synth_generated_tokens_total"] >= 3);
        Assert.True(samples["synth_http_requests_ok_total"] >= 1);
        Assert.InRange(samples["synth_kv_use_ratio"], 0, 1);
        foreach (var name in new[] { "synth_queue_depth", "synth_active_sequences", "synth_generated_tokens_per_second", "synth_prompt_tokens_per_second" })
            Assert.Contains(name, samples.Keys);
    }

    [Fact]
    public async Task Health_Answers()
    {
        using var response = await Http.GetAsync(new Uri(served.Server.Address + "/health"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"ok\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}

/// <summary>A server that requires a key, and the bind rule that makes a key necessary off loopback.</summary>
public sealed class ApiKeyTests
{
    [Fact]
    public void Validate_NonLoopbackWithoutKey_NamesTheApiKeyFlag()
    {
        var e = Assert.Throws<Core.Options.OptionsValidationError>(() => new ServeOptions { Host = "0.0.0.0", ModelId = "m" }.Validate());

        Assert.Contains("--api-key", e.Message, StringComparison.Ordinal);
        new ServeOptions { Host = "0.0.0.0", ModelId = "m", ApiKey = "k" }.Validate();
        new ServeOptions { Host = "::1", ModelId = "m" }.Validate();
    }
}

/// <summary>The key check runs before any route under /v1; /health stays open for load balancers.</summary>
[Collection(ServedModelCollection.Name)]
public sealed class KeyedServerTests(ServedModel served)
{
    [Fact]
    public async Task V1Routes_WithoutTheKey_Are401_WithItAnswer()
    {
        await using var server = await SynthServer.StartAsync(served.Local, new ServeOptions { Port = 0, ModelId = "demo", ApiKey = "sk-test-123" }, NullLoggerFactory.Instance);
        using var http = new HttpClient();
        var url = new Uri(server.Address + "/v1/models");

        using (var anonymous = await http.GetAsync(url)) Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        using (var wrong = new HttpRequestMessage(HttpMethod.Get, url))
        {
            wrong.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "sk-wrong");
            using var answer = await http.SendAsync(wrong);
            Assert.Equal(HttpStatusCode.Unauthorized, answer.StatusCode);
            Assert.Contains("invalid_api_key", await answer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        using (var right = new HttpRequestMessage(HttpMethod.Get, url))
        {
            right.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "sk-test-123");
            using var answer = await http.SendAsync(right);
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        }
        using var health = await http.GetAsync(new Uri(server.Address + "/health"));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }
}

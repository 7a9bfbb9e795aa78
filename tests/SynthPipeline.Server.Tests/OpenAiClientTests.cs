#pragma warning disable OPENAI001 // Seed is marked experimental in the OpenAI client
using System.ClientModel;
using System.Text;
using System.Text.Json;
using ChatOptions = Microsoft.Extensions.AI.ChatOptions;
using ChatRole = Microsoft.Extensions.AI.ChatRole;
using OpenAI;
using OpenAI.Chat;
using ChatMessage = OpenAI.Chat.ChatMessage;
using ChatFinishReason = OpenAI.Chat.ChatFinishReason;
using ChatResponseFormat = OpenAI.Chat.ChatResponseFormat;

namespace SynthPipeline.Server.Tests;

/// <summary>The official OpenAI .NET client against <c>synth serve</c> over real HTTP: whole answers, streams, JSON schemas, keys.</summary>
[Collection(ServedModelCollection.Name)]
public sealed class OpenAiClientTests(ServedModel served)
{
    private ChatClient Client(string key = "none") => new(ServedModel.ModelId, new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = served.Api });

    private static ChatCompletionOptions Greedy(int tokens) => new() { Temperature = 0, MaxOutputTokenCount = tokens, Seed = 7 };

    private async Task<string> LocalGreedyAsync(string prompt, int tokens) =>
        (await served.Local.GetResponseAsync([new Microsoft.Extensions.AI.ChatMessage(ChatRole.User, prompt)], new ChatOptions { Temperature = 0, MaxOutputTokens = tokens, Seed = 7 })).Text;

    [Fact]
    public async Task CompleteChat_NotStreamed_AnswersWhatTheModelSaysWithUsage()
    {
        var completion = (await Client().CompleteChatAsync([new UserChatMessage("Name three rivers.")], Greedy(12))).Value;

        Assert.Equal(await LocalGreedyAsync("Name three rivers.", 12), completion.Content[0].Text);
        Assert.Equal(ServedModel.ModelId, completion.Model);
        Assert.True(completion.Usage.InputTokenCount > 5);
        Assert.InRange(completion.Usage.OutputTokenCount, 1, 12);
        Assert.Equal(completion.Usage.InputTokenCount + completion.Usage.OutputTokenCount, completion.Usage.TotalTokenCount);
    }

    [Fact]
    public async Task CompleteChatStreaming_GivesTheSameTextInPiecesThenFinishAndUsage()
    {
        var text = new StringBuilder();
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        var pieces = 0;
        await foreach (var update in Client().CompleteChatStreamingAsync([new UserChatMessage("Describe a lighthouse.")], Greedy(24)))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
                pieces++;
            }
            finish = update.FinishReason ?? finish;
            usage = update.Usage ?? usage;
        }

        Assert.Equal(await LocalGreedyAsync("Describe a lighthouse.", 24), text.ToString());
        Assert.True(pieces >= 1);
        Assert.NotNull(finish);
        Assert.NotNull(usage);
        Assert.InRange(usage!.OutputTokenCount, 1, 24);
    }

    [Fact]
    public async Task CompleteChat_JsonSchema_ReturnsJsonThatHasTheRequiredFields()
    {
        var schema = BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string","maxLength":12},"rank":{"type":"integer"}},"required":["city","rank"]}""");
        var options = new ChatCompletionOptions
        {
            Temperature = 0.8f, Seed = 3, MaxOutputTokenCount = 120,
            ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("place", schema),
        };

        var completion = (await Client().CompleteChatAsync([new UserChatMessage("A city and its rank, as JSON.")], options)).Value;

        using var json = JsonDocument.Parse(completion.Content[0].Text);
        Assert.Equal(JsonValueKind.String, json.RootElement.GetProperty("city").ValueKind);
        Assert.Equal(JsonValueKind.Number, json.RootElement.GetProperty("rank").ValueKind);
    }

    [Fact]
    public async Task CompleteChat_PromptOverTheContext_Is400NamingMessagesAndTheLimit()
    {
        var longPrompt = string.Join(' ', Enumerable.Repeat("lighthouse keeper", ServedModel.Context));

        var e = await Assert.ThrowsAsync<ClientResultException>(() => Client().CompleteChatAsync([new UserChatMessage(longPrompt)], Greedy(4)));

        Assert.Equal(400, e.Status);
        using var error = JsonDocument.Parse(e.GetRawResponse()!.Content.ToString());
        Assert.Equal("messages", error.RootElement.GetProperty("error").GetProperty("param").GetString());
        Assert.Equal("context_length_exceeded", error.RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains(ServedModel.Context.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListModels_NamesTheServedModel()
    {
        var models = (await new OpenAIClient(new ApiKeyCredential("none"), new OpenAIClientOptions { Endpoint = served.Api }).GetOpenAIModelClient().GetModelsAsync()).Value;

        Assert.Equal([ServedModel.ModelId], models.Select(m => m.Id));
    }

    [Fact]
    public async Task ChatMessages_SystemAndAssistantTurns_AreAccepted()
    {
        ChatMessage[] messages = [new SystemChatMessage("Be brief."), new UserChatMessage("Hi"), new AssistantChatMessage("Hello."), new UserChatMessage("Again")];

        var completion = (await Client().CompleteChatAsync(messages, Greedy(4))).Value;

        Assert.Equal(ChatFinishReason.Length, completion.FinishReason);
        Assert.Equal(4, completion.Usage.OutputTokenCount);
    }
}

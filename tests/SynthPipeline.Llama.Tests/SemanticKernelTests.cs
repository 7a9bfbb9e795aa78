using Microsoft.Extensions.AI;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using SynthPipeline.Llama.Teacher;

namespace SynthPipeline.Llama.Tests;

[Collection(DemoModelCollection.Name)]
public sealed class SemanticKernelTests(DemoModelFixture fixture) : IDisposable
{
    private readonly LlamaChatClient _client = fixture.CreateClient(1024);

    [Fact]
    public async Task RenderAsync_ShippedTemplate_InsertsTheArgument()
    {
        var kernel = TeacherKernel.Create(_client);
        var text = await PromptLibrary.Default().RenderAsync(kernel, "is-classification", new KernelArguments { ["instruction"] = "Is this review positive?" });
        Assert.Contains("Task: Is this review positive?", text, StringComparison.Ordinal);
        Assert.DoesNotContain("{{", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RenderAsync_ValueWithApostrophesAndMarkup_IsInsertedVerbatim()
    {
        var kernel = TeacherKernel.Create(_client);
        const string passage = "Fishing fleet & lifeboat: don't moor at <b>\"inner\"</b> basin.";
        var text = await PromptLibrary.Default().RenderAsync(kernel, "augment-judge-grounding",
            new KernelArguments { ["source"] = passage, ["question"] = "Where can't I moor?", ["answer"] = "In the inner basin." });
        Assert.Contains(passage, text, StringComparison.Ordinal);
        Assert.Contains("Question: Where can't I moor?", text, StringComparison.Ordinal);
        Assert.DoesNotContain("&#39;", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvokeAsync_PromptFunction_ReachesTheTeacherWithTheSameResultAsADirectCall()
    {
        var kernel = TeacherKernel.Create(_client);
        var library = PromptLibrary.Default();
        var arguments = new KernelArguments { ["instruction"] = "Is this review positive?" };
        var settings = new PromptExecutionSettings { ExtensionData = new Dictionary<string, object> { ["temperature"] = 0.0, ["max_tokens"] = 12 } };

        var viaKernel = await kernel.InvokeAsync(library.Function("is-classification", settings), arguments);
        var rendered = await library.RenderAsync(kernel, "is-classification", arguments);
        var direct = await _client.GetResponseAsync([new ChatMessage(ChatRole.User, rendered)], new ChatOptions { Temperature = 0, MaxOutputTokens = 12 });

        Assert.Equal(direct.Text, viaKernel.GetValue<string>());
    }

    [Fact]
    public async Task ChatCompletionService_FromKernel_IsTheTeacher()
    {
        var kernel = TeacherKernel.Create(_client);
        var service = kernel.GetRequiredService<IChatCompletionService>();
        var history = new ChatHistory();
        history.AddUserMessage("hello");
        var reply = await service.GetChatMessageContentAsync(history, new PromptExecutionSettings { ExtensionData = new Dictionary<string, object> { ["max_tokens"] = 5, ["seed"] = 3 } }, kernel);
        Assert.False(string.IsNullOrEmpty(reply.Content));
    }

    [Fact]
    public void Text_UnknownTemplate_NamesTheMissingFile()
    {
        var e = Assert.Throws<FileNotFoundException>(() => PromptLibrary.Default().Text("no-such-prompt"));
        Assert.Contains("no-such-prompt.txt", e.Message, StringComparison.Ordinal);
    }

    public void Dispose() => _client.Dispose();
}

using Microsoft.Extensions.AI;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using SynthPipeline.Core.Options;
using SynthPipeline.Llama;
using SynthPipeline.Llama.Gguf;
using SynthPipeline.Llama.Teacher;
using SynthPipeline.Pipeline.Teacher;

namespace SynthPipeline.Pipeline.Tests.Teacher;

/// <summary>The demo model, written and loaded on the CPU once for the class.</summary>
public sealed class DemoTeacherFixture : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "synth-pipeline-tests", Guid.NewGuid().ToString("N"));

    public DemoTeacherFixture()
    {
        var options = new TeacherOptions { ModelPath = DemoModel.Write(Path.Combine(_directory, "demo.gguf")), GpuLayers = 0, Threads = 2, FlashAttention = Switch.Off, ContextPerSequence = 1024 };
        using var loggers = Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance;
        Model = LocalTeacher.LoadModel(options, options.ModelPath, loggers, CancellationToken.None);
        Options = options;
    }

    public LlamaModel Model { get; }

    public TeacherOptions Options { get; }

    public void Dispose()
    {
        Model.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}

public sealed class SemanticKernelTests(DemoTeacherFixture fixture) : IClassFixture<DemoTeacherFixture>, IDisposable
{
    private readonly LlamaChatClient _client = LocalTeacher.CreateClient(fixture.Model, fixture.Options, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);

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
        var library = PromptLibrary.Demo();
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
        var e = Assert.Throws<Core.UserErrorException>(() => PromptLibrary.Default().Text("no-such-prompt"));
        Assert.Contains("no-such-prompt.txt", e.Message, StringComparison.Ordinal);
    }

    public void Dispose() => _client.Dispose();
}

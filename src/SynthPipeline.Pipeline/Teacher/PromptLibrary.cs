using Microsoft.SemanticKernel;
using SynthPipeline.Core;

namespace SynthPipeline.Pipeline.Teacher;

/// <summary>
/// Prompt templates kept as <c>prompts/&lt;name&gt;.txt</c>, rendered and invoked through Semantic Kernel. The demo
/// library first looks in <c>prompts/demo/</c>, which holds shorter few-shot prompts: the demo model's tiny vocabulary
/// spends about a token per character, and the full prompts would not fit its context.
/// </summary>
public sealed class PromptLibrary
{
    private readonly string _directory;
    private readonly string? _overlay;
    private readonly KernelPromptTemplateFactory _factory = new() { AllowDangerouslySetContent = true };

    public PromptLibrary(string directory, string? overlay = null)
    {
        if (!Directory.Exists(directory)) throw new UserErrorException($"prompt folder '{directory}' does not exist");
        _directory = directory;
        _overlay = overlay;
    }

    /// <summary>The prompts folder next to the application (copied there by the build).</summary>
    public static PromptLibrary Default() => new(Path.Combine(AppContext.BaseDirectory, "prompts"));

    /// <summary>The prompts with the demo model's shorter versions where there are any (with the demo grammars).</summary>
    public static PromptLibrary Demo() => new(Path.Combine(AppContext.BaseDirectory, "prompts"), Path.Combine(AppContext.BaseDirectory, "prompts", "demo"));

    /// <summary>
    /// For a template name, its demo grammar (<c>prompts/demo/NAME.gbnf</c>) when <paramref name="enabled"/>
    /// and one exists, else null: how the demo model's noise is made to parse.
    /// </summary>
    public static Func<string, string?> DemoGrammars(bool enabled) => template =>
    {
        var file = Path.Combine(AppContext.BaseDirectory, "prompts", "demo", template + ".gbnf");
        return enabled && File.Exists(file) ? File.ReadAllText(file) : null;
    };

    public string Text(string name)
    {
        var path = _overlay is not null && File.Exists(Path.Combine(_overlay, name + ".txt")) ? Path.Combine(_overlay, name + ".txt") : Path.Combine(_directory, name + ".txt");
        if (!File.Exists(path)) throw new UserErrorException($"prompt template '{name}' not found: '{path}' does not exist");
        return File.ReadAllText(path);
    }

    /// <summary>Renders a template with arguments, without calling the model; values are inserted verbatim.</summary>
    /// <remarks>
    /// Semantic Kernel HTML-encodes inserted values by default (so that a value cannot inject chat-message markup).
    /// The rendered text here is always sent as one plain user message, never parsed for markup, and encoding would
    /// show the teacher "can&amp;#39;t" for "can't" in every passage and instruction.
    /// </remarks>
    public Task<string> RenderAsync(Kernel kernel, string name, KernelArguments arguments, CancellationToken cancellationToken = default) =>
        _factory.Create(new PromptTemplateConfig(Text(name))).RenderAsync(kernel, arguments, cancellationToken);

    /// <summary>A kernel function that renders the template and sends it to the kernel's chat service.</summary>
    public KernelFunction Function(string name, PromptExecutionSettings? settings = null) =>
        KernelFunctionFactory.CreateFromPrompt(Text(name), settings, functionName: name.Replace('-', '_'));
}

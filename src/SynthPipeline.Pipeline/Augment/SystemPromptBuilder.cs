using Microsoft.SemanticKernel;
using SynthPipeline.Core.Augment;
using SynthPipeline.Llama.Teacher;
using SynthPipeline.Pipeline.State;
using SynthPipeline.Pipeline.Teacher;

namespace SynthPipeline.Pipeline.Augment;

/// <summary>
/// The system prompt that activates the three behaviours at inference: the instructions of
/// <c>prompts/augment-system.txt</c> with one short accepted example of each kind (the shortest, so the prompt stays small).
/// </summary>
public static class SystemPromptBuilder
{
    public static async Task<string> BuildAsync(PromptLibrary prompts, Kernel kernel, IReadOnlyList<StoredExample> examples, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(examples);
        var arguments = new KernelArguments();
        foreach (var kind in Enum.GetValues<ExampleKind>())
        {
            var name = kind.ToString().ToLowerInvariant();
            var shortest = examples.Where(e => e.Kind == kind).OrderBy(e => e.Question.Length + e.Answer.Length).ThenBy(e => e.Id, StringComparer.Ordinal).FirstOrDefault();
            arguments[name + "_question"] = shortest?.Question ?? "";
            arguments[name + "_answer"] = shortest?.Answer ?? "";
        }
        var text = await prompts.RenderAsync(kernel, "augment-system", arguments, cancellationToken).ConfigureAwait(false);
        // A kind with no accepted example leaves an empty "User:/Assistant:" pair; drop such lines.
        var lines = text.Replace("\r\n", "\n").Split('\n').Where(l => l.Trim() is not ("User:" or "Assistant:"));
        return string.Join('\n', lines).Trim();
    }
}

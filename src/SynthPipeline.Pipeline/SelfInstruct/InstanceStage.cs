using SynthPipeline.Core.SelfInstruct;
using SynthPipeline.Core.Text;
using Microsoft.Extensions.AI;
using Microsoft.SemanticKernel;
using SynthPipeline.Llama.Teacher;
using SynthPipeline.Pipeline.State;
using SynthPipeline.Pipeline.Teacher;

namespace SynthPipeline.Pipeline.SelfInstruct;

/// <summary>What the instance stage decided for one instruction.</summary>
public sealed record InstanceResult(int InstructionId, bool? IsClassification, IReadOnlyList<TaskInstance> Kept, IReadOnlyList<StoredRejection> Rejected, bool TaskRejected);

/// <summary>Settings of <see cref="InstanceStage"/>.</summary>
public sealed record InstanceStageSettings(int RunSeed, int MaxTokens, int InstancesPerTask, float Temperature, float TopP,
    string ClassificationGrammar, string? InputFirstGrammar, string? OutputFirstGrammar)
{
    public float PresencePenalty { get; init; } = 1.5f;

    public int ClassifyMaxTokens { get; init; } = 8;

    /// <summary>0 = off.</summary>
    public int TopK { get; init; }

    /// <summary>0 = off.</summary>
    public float MinP { get; init; }
}

/// <summary>
/// For one accepted instruction: ask the teacher whether it is a classification task (answer constrained to Yes or
/// No), then for examples, output-first for classification and input-first otherwise; parse and filter them.
/// Answers already in the store (from before a resume) are reused, not asked again.
/// </summary>
public sealed class InstanceStage(TeacherRequests requests, PromptLibrary prompts, Kernel kernel, InstanceStageSettings settings)
{
    public async Task<InstanceResult> RunAsync(StoredInstruction instruction, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(instruction);
        var source = $"instruction {instruction.Id}";
        var arguments = new KernelArguments { ["instruction"] = instruction.Text, ["max_instances"] = settings.InstancesPerTask };
        var classifyPrompt = await prompts.RenderAsync(kernel, "is-classification", arguments, cancellationToken).ConfigureAwait(false);
        var classify = await requests.AskAsync($"classify:{instruction.Id}", "classify", classifyPrompt,
            Options(SelfInstructPromptBuilder.RandomFor(settings.RunSeed, instruction.Id, 2).Next(), settings.ClassifyMaxTokens, 0, 0, settings.ClassificationGrammar, ["\nTask:"]), cancellationToken).ConfigureAwait(false);
        if (!classify.Succeeded)
            return Failed(instruction, "classify", classify, source);
        var verdict = ClassificationAnswer.Read(classify.Text!);
        var isClassification = verdict == ClassificationVerdict.Yes;
        var ambiguity = verdict == ClassificationVerdict.Ambiguous
            ? new StoredRejection { Stage = "classify", Reason = "ambiguous_classification", Detail = "read as not classification", Text = TextPreview.Shorten(classify.Text!), Source = source }
            : null;

        var template = isClassification ? "instances-output-first" : "instances-input-first";
        var examplesPrompt = await prompts.RenderAsync(kernel, template, arguments, cancellationToken).ConfigureAwait(false);
        var examples = await requests.AskAsync($"instances:{instruction.Id}", template, examplesPrompt,
            Options(SelfInstructPromptBuilder.RandomFor(settings.RunSeed, instruction.Id, 3).Next(), settings.MaxTokens, settings.Temperature, settings.PresencePenalty,
                isClassification ? settings.OutputFirstGrammar : settings.InputFirstGrammar, ["\nTask:", "\n\n\n"]), cancellationToken).ConfigureAwait(false);
        if (!examples.Succeeded)
            return Failed(instruction, "instances", examples, source) with { IsClassification = isClassification };

        var answer = isClassification
            ? InstanceParser.ParseOutputFirst(examples.Text!, examples.Truncated)
            : InstanceParser.ParseInputFirst(examples.Text!, examples.Truncated);
        var parsed = answer.Instances;
        var (kept, dropped, taskRejection) = InstanceFilter.Apply(parsed, settings.InstancesPerTask);
        var rejected = ambiguity is null ? [] : new List<StoredRejection> { ambiguity };
        rejected.AddRange(answer.Dropped.Select(d => new StoredRejection { Stage = "instances", Reason = d.Reason, Text = TextPreview.Shorten(d.Text), Source = source }));
        rejected.AddRange(dropped.Select(d => new StoredRejection { Stage = "instances", Reason = d.Reason, Text = $"input: {d.Instance.Input} | output: {d.Instance.Output}", Source = source }));
        if (parsed.Count == 0)
            rejected.Add(new StoredRejection { Stage = "instances", Reason = "unparseable", Text = TextPreview.Shorten(examples.Text!), Source = source });
        if (taskRejection is not null)
            rejected.Add(new StoredRejection { Stage = "instances", Reason = taskRejection, Text = instruction.Text, Source = source });
        return new InstanceResult(instruction.Id, isClassification, kept, rejected, taskRejection is not null);
    }

    private ChatOptions Options(int seed, int maxTokens, float temperature, float presencePenalty, string? grammar, IList<string> stops)
    {
        var options = new ChatOptions
        {
            Seed = seed, MaxOutputTokens = maxTokens, Temperature = temperature, TopP = settings.TopP, TopK = settings.TopK, PresencePenalty = presencePenalty,
            StopSequences = stops, AdditionalProperties = new() { [ChatOptionsMapper.MinPKey] = settings.MinP },
        };
        if (grammar is not null) options.AdditionalProperties[ChatOptionsMapper.GrammarKey] = grammar;
        return options;
    }

    private static InstanceResult Failed(StoredInstruction instruction, string step, TeacherOutcome outcome, string source) =>
        new(instruction.Id, null, [], [outcome.ToRejection("teacher", instruction.Text, source, step)], true);

}

using System.Text;
using System.Text.RegularExpressions;
using Microsoft.SemanticKernel;
using SynthPipeline.Llama.Teacher;
using SynthPipeline.Pipeline.Teacher;

namespace SynthPipeline.Pipeline.SelfInstruct;

/// <summary>One Self-Instruct prompt: which tasks it shows, in order, and the rendered text.</summary>
public sealed record InstructionPrompt(long Index, IReadOnlyList<string> Tasks, string Text);

/// <summary>
/// Builds the Self-Instruct prompt: up to <c>machineTasks</c> machine-generated instructions plus seeds to make
/// <c>promptTasks</c>, shuffled, numbered, ending with the next number for the teacher to continue. Prompt k draws
/// from its own random generator (run seed, k), so it is the same on every run and after every resume.
/// </summary>
public sealed partial class SelfInstructPromptBuilder(PromptLibrary prompts, Kernel kernel, IReadOnlyList<string> seedInstructions, int promptTasks, int machineTasks, int runSeed)
{
    public const string TemplateName = "self-instruct-generate";

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    /// <summary>The random generator of prompt <paramref name="index"/>.</summary>
    public static Random RandomFor(int runSeed, long index, int stream = 0) =>
        new(unchecked((int)(runSeed * 1_000_003L + index * 7_919L + stream * 104_729L)));

    /// <summary>The tasks prompt <paramref name="index"/> shows, given the machine instructions it may draw from.</summary>
    public IReadOnlyList<string> ChooseTasks(long index, IReadOnlyList<string> machinePool)
    {
        ArgumentNullException.ThrowIfNull(machinePool);
        var rng = RandomFor(runSeed, index);
        var chosen = Sample(rng, machinePool, Math.Min(machineTasks, machinePool.Count));
        chosen.AddRange(Sample(rng, seedInstructions, Math.Min(promptTasks - chosen.Count, seedInstructions.Count)));
        rng.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(chosen));
        return chosen;
    }

    public async Task<InstructionPrompt> BuildAsync(long index, IReadOnlyList<string> machinePool, CancellationToken cancellationToken)
    {
        var tasks = ChooseTasks(index, machinePool);
        var numbered = new StringBuilder();
        for (var i = 0; i < tasks.Count; i++)
        {
            if (i > 0) numbered.Append('\n');
            numbered.Append(i + 1).Append(". ").Append(Whitespace().Replace(tasks[i], " ").Trim().TrimEnd(':'));
        }
        var text = await prompts.RenderAsync(kernel, TemplateName, new KernelArguments
        {
            ["numbered_tasks"] = numbered.ToString(),
            ["next_number"] = tasks.Count + 1,
        }, cancellationToken).ConfigureAwait(false);
        return new InstructionPrompt(index, tasks, text);
    }

    /// <summary>Python's random.sample semantics (distinct positions, order of drawing), on our generator.</summary>
    private static List<string> Sample(Random rng, IReadOnlyList<string> from, int count)
    {
        var picked = new List<string>(count);
        var positions = Enumerable.Range(0, from.Count).ToArray();
        for (var i = 0; i < count; i++)
        {
            var j = rng.Next(i, positions.Length);
            (positions[i], positions[j]) = (positions[j], positions[i]);
            picked.Add(from[positions[i]]);
        }
        return picked;
    }
}

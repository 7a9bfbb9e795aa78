using System.Text;
using Microsoft.Extensions.AI;
using Microsoft.SemanticKernel;
using SynthPipeline.Core.Augment;
using SynthPipeline.Llama.Teacher;
using SynthPipeline.Core.Options;
using SynthPipeline.Pipeline.Teacher;

namespace SynthPipeline.Pipeline.Augment;

/// <summary>Settings shared by the augmentation stages, fixed for a run.</summary>
public sealed record AugmentSettings(AugmentOptions Options, Func<string, string?> Grammar)
{
    public IReadOnlyList<string> CorrectionOpeners => Options.CorrectionOpeners.Count > 0 ? Options.CorrectionOpeners : ResponseChecks.DefaultCorrectionOpeners;
}

/// <summary>The outcome of a judged check: accepted, or the criterion that failed (or the teacher failure), with the tally.</summary>
public sealed record JudgeOutcome(bool Accepted, string? FailedCriterion, string Tally, TeacherOutcome? TeacherFailure);

/// <summary>
/// Teacher calls of the augmentation stages: a prompt template rendered with Semantic Kernel, asked under a stable id
/// (so a resumed run reuses every answer it already has) with a seed derived from the run seed and that id, and the
/// majority-vote judge.
/// </summary>
public sealed class AugmentTeacher(TeacherRequests requests, PromptLibrary prompts, Kernel kernel, AugmentSettings settings)
{
    public AugmentSettings Settings => settings;

    public async Task<TeacherOutcome> AskAsync(string id, string template, KernelArguments arguments, int maxTokens, double temperature,
        CancellationToken cancellationToken)
    {
        var prompt = await prompts.RenderAsync(kernel, template, arguments, cancellationToken).ConfigureAwait(false);
        var options = new ChatOptions
        {
            Seed = SeedOf(settings.Options.Seed, id), MaxOutputTokens = maxTokens, Temperature = (float)temperature, TopP = (float)settings.Options.TopP,
        };
        if (settings.Grammar(template) is { } grammar) options.AdditionalProperties = new() { [ChatOptionsMapper.GrammarKey] = grammar };
        return await requests.AskAsync(id, template, prompt, options, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Asks up to <c>JudgeVotes</c> judges: first a majority's worth at once (they share the whole prompt, which the
    /// engine then computes once), then one at a time while the majority is still open.
    /// </summary>
    public async Task<JudgeOutcome> JudgeAsync(string id, string template, KernelArguments arguments, IReadOnlyList<string> criteria,
        CancellationToken cancellationToken)
    {
        var votes = settings.Options.JudgeVotes;
        var tally = new JudgeTally(criteria, votes);
        var asked = 0;
        while (asked < votes && tally.Decision is null)
        {
            var batch = asked == 0 ? votes / 2 + 1 : 1;
            var answers = await Task.WhenAll(Enumerable.Range(asked, batch).Select(vote => AskAsync($"{id}|vote{vote}", template, arguments,
                settings.Options.JudgeMaxTokens, settings.Options.JudgeTemperature, cancellationToken))).ConfigureAwait(false);
            asked += batch;
            foreach (var answer in answers)
            {
                if (!answer.Succeeded) return new JudgeOutcome(false, null, tally.Describe(), answer);
                tally.Add(JudgeVerdict.Parse(answer.Text!, criteria));
            }
        }
        return new JudgeOutcome(tally.Decision == true, tally.FailedCriterion, tally.Describe(), null);
    }

    /// <summary>A 31-bit seed from the run seed and a request id (FNV-1a: stable across processes, unlike string hashing).</summary>
    public static int SeedOf(int runSeed, string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        var hash = 2166136261u ^ (uint)runSeed;
        foreach (var b in Encoding.UTF8.GetBytes(id))
            hash = (hash ^ b) * 16777619u;
        return (int)(hash & 0x7FFFFFFF);
    }
}

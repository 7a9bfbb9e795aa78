using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.AI;
using Microsoft.SemanticKernel;
using SynthPipeline.Core.Augment;
using SynthPipeline.Core.Eval;
using SynthPipeline.Core.Options;
using SynthPipeline.Core.Text;
using SynthPipeline.Llama.Teacher;
using SynthPipeline.Pipeline.Augment;
using SynthPipeline.Pipeline.State;
using SynthPipeline.Pipeline.Teacher;

namespace SynthPipeline.Pipeline.Eval;

/// <summary>
/// Asks a student every probe (greedy, seeded) and has the judge grade each reply. Answers are cached under the
/// student's identity and the probe, verdicts under the exact judge prompt, both in the run's state: a resumed or
/// repeated evaluation asks nothing twice, and the same probe and seed always get the same verdict. A failed request
/// leaves its probe unscored, with the reason, rather than stopping the evaluation.
/// </summary>
public sealed class ProbeEvaluator(IReadOnlyDictionary<TeacherRole, IChatClient> judge, RunStore store, TeacherCounters counters, EvalOptions options,
    Func<string, string?> grammar, IReadOnlyList<string> correctionOpeners)
{
    private readonly PromptLibrary _prompts = PromptLibrary.Default();
    private readonly Kernel _kernel = Kernel.CreateBuilder().Build();
    private readonly TeacherRequests _judge = new(judge, store, counters);

    /// <summary>Scores <paramref name="student"/> on the single probes and on <paramref name="combinations"/>; <paramref name="onScored"/> counts them.</summary>
    public async Task<IReadOnlyList<ProbeScore>> EvaluateAsync(EvalStudent student, IReadOnlyList<Probe> probes, IReadOnlyList<CombinationProbe> combinations,
        Action? onScored, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(probes);
        ArgumentNullException.ThrowIfNull(combinations);
        var answers = new TeacherRequests(student.Client, store, counters);
        // A single probe is a conversation of one turn.
        var work = probes.Select(p => (Probe: new CombinationProbe(p.Id, [p]), Combination: false))
            .Concat(combinations.Select(c => (Probe: c, Combination: true))).ToList();
        var scores = new ProbeScore[work.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, work.Count), new ParallelOptions { MaxDegreeOfParallelism = options.Parallel, CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                var (probe, combination) = work[i];
                scores[i] = new ProbeScore(probe.Id, student.Name, combination, await ConverseAsync(answers, student, probe, ct).ConfigureAwait(false));
                onScored?.Invoke();
            }).ConfigureAwait(false);
        return scores;
    }

    /// <summary>Asks the probe's turns one after another in one conversation and grades each reply.</summary>
    private async Task<IReadOnlyList<TurnScore>> ConverseAsync(TeacherRequests answers, EvalStudent student, CombinationProbe probe, CancellationToken cancellationToken)
    {
        var messages = new List<ChatMessage>();
        var turns = new List<TurnScore>();
        for (var t = 0; t < probe.Turns.Count; t++)
        {
            var p = probe.Turns[t];
            messages.Add(new ChatMessage(ChatRole.User, p.Question));
            // Everything that shapes the answer is in its id: another seed or length asks again instead of reusing.
            var id = $"eval-answer|{student.Identity}|seed{options.Seed}|max{options.MaxAnswerTokens}|{probe.Id}|{t}";
            var reply = await answers.AskAsync(id, "eval-answer", [.. messages], new ChatOptions
            {
                Temperature = 0, Seed = AugmentTeacher.SeedOf(options.Seed, probe.Id + "|" + t), MaxOutputTokens = options.MaxAnswerTokens,
            }, cancellationToken).ConfigureAwait(false);
            if (!reply.Succeeded)
            {
                turns.Add(new TurnScore(p.Kind, p.Question, "", new Dictionary<string, bool?>(), false, 0, "", $"student: {reply.FailureReason}: {reply.FailureDetail}"));
                break;
            }
            var text = ChatText.Unmark(reply.Text!).Trim();
            messages.Add(new ChatMessage(ChatRole.Assistant, text));
            turns.Add(await GradeAsync(p, text, cancellationToken).ConfigureAwait(false));
        }
        return turns;
    }

    /// <summary>The judge's verdict on one reply, and the rule checks.</summary>
    public async Task<TurnScore> GradeAsync(Probe probe, string reply, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(probe);
        ArgumentNullException.ThrowIfNull(reply);
        var template = EvalCriteria.Template(probe.Kind);
        var prompt = await _prompts.RenderAsync(_kernel, template, new KernelArguments
        {
            ["question"] = probe.Question, ["reference"] = probe.Reference, ["reply"] = reply,
            ["source"] = probe.Source is { Length: > 0 } s ? $"Source passage: \"\"\"{s}\"\"\"\n" : "",
        }, cancellationToken).ConfigureAwait(false);
        // The verdict is keyed by the exact prompt: the same question, reference and reply are graded once.
        var id = $"eval-judge|seed{options.Seed}|max{options.JudgeMaxTokens}|" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(template + "\n" + prompt)))[..24];
        var chat = new ChatOptions { Temperature = 0, Seed = AugmentTeacher.SeedOf(options.Seed, id), MaxOutputTokens = options.JudgeMaxTokens };
        if (grammar(template) is { } g) chat.AdditionalProperties = new() { [ChatOptionsMapper.GrammarKey] = g };
        var verdict = await _judge.AskAsync(id, template, prompt, chat, cancellationToken).ConfigureAwait(false);
        var opens = ResponseChecks.StartsWithCorrection(reply, correctionOpeners);
        var f1 = TokenF1.Score(reply, probe.Reference);
        if (!verdict.Succeeded)
            return new TurnScore(probe.Kind, probe.Question, reply, new Dictionary<string, bool?>(), opens, f1, "", $"judge: {verdict.FailureReason}: {verdict.FailureDetail}");
        var parsed = JudgeVerdict.Parse(verdict.Text!, EvalCriteria.Of(probe.Kind));
        return new TurnScore(probe.Kind, probe.Question, reply, parsed.Criteria, opens, f1, parsed.Reason, null);
    }
}

using Microsoft.SemanticKernel;
using SynthPipeline.Core.Augment;
using SynthPipeline.Core.Options;
using SynthPipeline.Pipeline.State;

namespace SynthPipeline.Pipeline.Augment;

/// <summary>
/// Refusal examples: a question in the source's domain about information that changes constantly (one of the
/// configured volatile topics), and a reply that declines, says why, and says where current information lives. Each
/// request is given a different opening style so refusals do not all sound alike; a majority of teacher judges must
/// confirm the question is volatile, the reply declines, and it points somewhere.
/// </summary>
public sealed class RefusalStage(AugmentTeacher teacher)
{
    public const string Stage = "refusal";
    private static readonly string[] Fields = ["Question", "Reply"];
    private static readonly string[] Criteria = ["Volatile", "Declines", "Points"];
    private readonly JudgedStep _step = new(teacher, Stage);

    /// <summary>Opening styles handed out in turn, for variety in wording.</summary>
    public static readonly IReadOnlyList<string> Styles =
    [
        "start by saying plainly that you can't give a reliable figure",
        "start by explaining that this changes too often to answer from memory",
        "start by acknowledging the question, then explain why you won't guess",
        "start by saying you don't have live access to that information",
        "start with a short apology, then the reason",
        "start by pointing out that any number you gave could already be out of date",
        "start by suggesting where to check, then explain why",
        "start with 'Good question' and then explain why you can't answer it reliably",
    ];

    /// <summary>The template of the refusal request.</summary>
    public const string Template = "augment-refusal";

    /// <summary>The topic and template arguments of a chunk's refusal request number <paramref name="n"/> (topic and style drawn from the run seed).</summary>
    public static (VolatileTopic Topic, KernelArguments Arguments) Arguments(ChunkJob job, int n, AugmentOptions options)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(options);
        var topics = options.EffectiveVolatileTopics;
        var pick = AugmentTeacher.SeedOf(options.Seed, $"refusal|{job.File}|{job.Index}|{n}");
        var topic = topics[pick % topics.Count];
        return (topic, new KernelArguments
        {
            ["source"] = job.Text, ["topic"] = topic.Name, ["examples"] = string.Join(" / ", topic.Examples), ["where"] = topic.WhereToLook,
            ["style"] = Styles[(pick / topics.Count) % Styles.Count],
        });
    }

    public async Task RunAsync(ChunkWork work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        var job = work.Job;
        var options = teacher.Settings.Options;
        var count = job.Pair is null ? options.RefusalsPerChunk : options.RefusalsPerPair;
        await Task.WhenAll(Enumerable.Range(0, count).Select(async n =>
        {
            var (topic, arguments) = Arguments(job, n, options);
            if (await _step.AskFieldsAsync(work, $"refusal|{job.File}|{job.Index}|{n}", Template, arguments, Fields, cancellationToken).ConfigureAwait(false)
                is not { } fields) return;
            var (question, reply) = (fields["Question"], fields["Reply"]);
            var tally = await _step.JudgeAsync(work, $"refusal-judge|{job.File}|{job.Index}|{n}", "augment-judge-refusal",
                new KernelArguments { ["question"] = question, ["reply"] = reply }, Criteria,
                failed => failed switch { "Volatile" => "not_volatile", "Declines" => "does_not_decline", _ => "no_pointer" }, "judge", question,
                $"Q: {question} | A: {reply}", cancellationToken).ConfigureAwait(false);
            if (tally is not null)
                work.Accept(new StoredExample(job.ExampleId("3-refusal", n), ExampleKind.Refusal, job.File, job.Index, job.Start, job.End,
                    question, reply, null, topic.Name, tally));
        })).ConfigureAwait(false);
    }
}

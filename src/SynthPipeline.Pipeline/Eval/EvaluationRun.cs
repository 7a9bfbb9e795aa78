using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using SynthPipeline.Core.Augment;
using SynthPipeline.Core.Eval;
using SynthPipeline.Core.Options;
using SynthPipeline.Llama;
using SynthPipeline.Pipeline.State;
using SynthPipeline.Pipeline.Teacher;

namespace SynthPipeline.Pipeline.Eval;

/// <summary>A student to evaluate: its name in the table and its adapter (null: the base model alone).</summary>
public sealed record EvalTarget(string Name, string? AdapterPath);

/// <summary>What <see cref="EvaluationRun"/> needs besides the students.</summary>
public sealed record EvalInputs(IReadOnlyList<Probe> Probes, string ProbesDescription, string BaseModel, RunTeacher Judge, TeacherOptions TeacherOptions, EvalOptions Options)
{
    /// <summary>The local teacher's loaded model, when there is one: a student of the same file shares its weights instead of loading a second copy.</summary>
    public LlamaModel? TeacherModel { get; init; }

    /// <summary>
    /// The judge's grader over <paramref name="store"/>: the judge role behind the resilience middleware, the demo
    /// grammars when the judge is the demo model, and the correction-opener rule.
    /// </summary>
    public ProbeEvaluator Grader(RunStore store, TeacherCounters counters, ILoggerFactory loggers, TimeProvider time)
    {
        var judge = RoleChains.Build(Judge, TeacherResilience.FromSeconds(Options.StallSeconds, Options.RequestTimeoutSeconds, Options.Retries), loggers, time);
        return new ProbeEvaluator(judge, store, counters, Options, PromptLibrary.DemoGrammars(Judge.IsDemo), ResponseChecks.DefaultCorrectionOpeners);
    }

    /// <summary>The base model's weights: the teacher's when they are the same file, else loaded here (and then <paramref name="owned"/>).</summary>
    public LlamaModel BaseWeights(ILoggerFactory loggers, CancellationToken cancellationToken, out LlamaModel? owned)
    {
        if (TeacherModel is { } shared && string.Equals(Path.GetFullPath(shared.Path), Path.GetFullPath(BaseModel), StringComparison.Ordinal))
        {
            owned = null;
            return shared;
        }
        owned = LocalTeacher.LoadModel(TeacherOptions, BaseModel, loggers, cancellationToken);
        return owned;
    }
}

/// <summary>
/// An evaluation in a folder: the base model loaded once, one client per target (the base, or the base with an
/// adapter applied by llama.cpp), every probe asked and graded through <see cref="ProbeEvaluator"/> with the state in
/// the folder's <c>state.db</c>, then <c>eval.json</c>, <c>eval.md</c> and <c>report.html</c>.
/// </summary>
public static class EvaluationRun
{
    public static async Task<IReadOnlyList<StudentMetrics>> RunAsync(string folder, EvalInputs inputs, IReadOnlyList<EvalTarget> targets, ILoggerFactory loggers,
        Action<string> log, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(log);
        if (Directory.Exists(inputs.BaseModel))
            throw new Core.UserErrorException($"'{inputs.BaseModel}' is a Hugging Face folder; the students answer through llama.cpp, so give the same model as GGUF (--base)");
        foreach (var t in targets)
            if (t.AdapterPath is { } a && !File.Exists(a)) throw new Core.UserErrorException($"adapter '{a}' ({t.Name}) does not exist");
        Directory.CreateDirectory(folder);
        var options = inputs.Options;
        var probes = Cap(inputs.Probes, options.MaxProbesPerKind);
        var combinations = CombinationProbe.Build(probes, options.CombinationProbes);
        using var store = RunStore.Open(folder);
        var time = TimeProvider.System;
        var evaluator = inputs.Grader(store, new TeacherCounters(time), loggers, time);

        var model = inputs.BaseWeights(loggers, cancellationToken, out var owned);
        using var _ = owned;
        if (owned is null) log("eval: the students share the teacher's loaded weights (no second copy)");
        var baseIdentity = BaseIdentity(inputs.BaseModel);
        var metrics = new List<StudentMetrics>();
        var scores = new List<ProbeScore>();
        var total = probes.Count + combinations.Count;
        foreach (var target in targets)
        {
            using var client = LocalTeacher.CreateClient(model, inputs.TeacherOptions, loggers, target.AdapterPath is { } path ? [(path, 1f)] : null);
            var identity = target.AdapterPath is { } adapter ? $"{baseIdentity}+{Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(adapter)))[..16]}" : baseIdentity;
            var done = 0;
            var started = time.GetTimestamp();
            var studentScores = await evaluator.EvaluateAsync(new EvalStudent(target.Name, identity, client), probes, combinations, () =>
            {
                var n = Interlocked.Increment(ref done);
                if (n % Math.Max(1, total / 4) == 0 || n == total) log(string.Create(CultureInfo.InvariantCulture, $"eval {target.Name}: {n}/{total} probes scored"));
            }, cancellationToken).ConfigureAwait(false);
            scores.AddRange(studentScores);
            metrics.Add(EvalMetricsCalculator.Compute(target.Name, studentScores));
            log(string.Create(CultureInfo.InvariantCulture, $"eval {target.Name}: done in {time.GetElapsedTime(started).TotalSeconds:F1} s"));
        }
        EvalReport.Write(folder, metrics, scores, new EvalDescription(inputs.Judge.Roles.TryGetValue(TeacherRole.Judge, out var role) ? role.Description : inputs.Judge.Description,
            string.Create(CultureInfo.InvariantCulture, $"{inputs.ProbesDescription}: {Count(probes, ExampleKind.Legitimate)} legitimate, {Count(probes, ExampleKind.Negative)} false-premise, {Count(probes, ExampleKind.Refusal)} volatile, {combinations.Count} combined"),
            inputs.Judge.IsDemo || LocalTeacher.IsDemo(inputs.BaseModel)));
        return metrics;
    }

    private static int Count(IReadOnlyList<Probe> probes, ExampleKind kind) => probes.Count(p => p.Kind == kind);

    private static IReadOnlyList<Probe> Cap(IReadOnlyList<Probe> probes, int perKind) =>
        perKind <= 0 ? probes : [.. probes.GroupBy(p => p.Kind).SelectMany(g => g.Take(perKind))];

    /// <summary>Names the base weights without hashing gigabytes: the file's name, size and time of last change.</summary>
    private static string BaseIdentity(string path)
    {
        var info = new FileInfo(path);
        return string.Create(CultureInfo.InvariantCulture, $"{info.Name}:{info.Length}:{info.LastWriteTimeUtc.Ticks}");
    }
}

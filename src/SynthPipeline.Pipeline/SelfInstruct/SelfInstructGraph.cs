using SynthPipeline.Core;
using System.Threading.Tasks.Dataflow;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using SynthPipeline.Llama.Teacher;
using SynthPipeline.Pipeline.Graph;
using SynthPipeline.Pipeline.Teacher;
using SynthPipeline.Pipeline.State;

namespace SynthPipeline.Pipeline.SelfInstruct;

/// <summary>Settings of one Self-Instruct run, fixed when the run is created and stored with it.</summary>
public sealed record SelfInstructSettings
{
    /// <summary>The teacher is a chat model (its answers have preambles and blank lines), not a completion model.</summary>
    public bool ChatMode { get; init; } = true;

    public required int Target { get; init; }
    public required int RunSeed { get; init; }
    /// <summary>Prompts in flight. Prompt k draws machine instructions from prompts ≤ k − Window, which keeps runs reproducible.</summary>
    public required int Window { get; init; }
    public int PromptTasks { get; init; } = 8;
    public int PromptMachineTasks { get; init; } = 2;
    public int InstructionMaxTokens { get; init; } = 1024;

    public float PresencePenalty { get; init; } = 2;

    public float FrequencyPenalty { get; init; }

    /// <summary>0 = off.</summary>
    public int TopK { get; init; }

    /// <summary>0 = off.</summary>
    public float MinP { get; init; }
    public float Temperature { get; init; } = 0.7f;
    public float TopP { get; init; } = 0.5f;
    public double RougeThreshold { get; init; } = 0.7;
    public string? InstructionGrammar { get; init; }

    /// <summary>A run whose teacher keeps producing nothing new stops after this many prompts.</summary>
    public int MaxPrompts => Target * 50 + 1000;
}

/// <summary>
/// <c>synth generate</c>'s graph. Prompts are produced in order; the teacher answers up to <c>Window</c> of them at once;
/// answers are processed strictly in prompt order (filters, ROUGE-L, acceptance); accepted instructions flow to the
/// instance stage, whose results are committed per instruction. All block wiring is in <see cref="RunAsync"/>; the
/// stages are plain classes. A faulted block cancels the run and its error is rethrown (<see cref="GraphCompletion"/>): nothing stops silently.
/// </summary>
public sealed partial class SelfInstructGraph(
    SelfInstructPromptBuilder promptBuilder,
    InstructionStage instructionStage,
    InstanceStage instanceStage,
    TeacherRequests requests,
    RunStore store,
    SelfInstructSettings settings,
    SelfInstructProgress progress,
    ILogger logger)
{
    private readonly List<int> _acceptedAfter = [];
    private readonly Lock _gateLock = new();
    private TaskCompletionSource _processedSignal = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed record PromptJob(long Index, int PoolSize);

    private sealed record PromptAnswer(long Index, TeacherOutcome Outcome, int OpenNumber);

    /// <summary>Runs (or resumes) until the target is reached or the teacher stops producing; cancellation leaves a resumable store.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var (nextPrompt, pending) = Restore();
        progress.Start(settings.Target, instructionStage.AcceptedCount, _acceptedAfter.Count,
            store.Instructions().Count(i => i.Status != InstructionStatus.Pending), store.RequestTotals().OutputTokens);
        using var run = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var token = run.Token;
        var bounded = new ExecutionDataflowBlockOptions { BoundedCapacity = settings.Window, CancellationToken = token };

        var ask = new TransformBlock<PromptJob, PromptAnswer>(job => AskForInstructionsAsync(job, token),
            new ExecutionDataflowBlockOptions { MaxDegreeOfParallelism = settings.Window, BoundedCapacity = settings.Window, EnsureOrdered = true, CancellationToken = token });
        var instances = new TransformBlock<StoredInstruction, InstanceResult>(i => instanceStage.RunAsync(i, token),
            new ExecutionDataflowBlockOptions { MaxDegreeOfParallelism = settings.Window, BoundedCapacity = settings.Window * 4, EnsureOrdered = false, CancellationToken = token });
        var process = new ActionBlock<PromptAnswer>(a => ProcessAnswerAsync(a, instances, token), bounded);
        var commit = new ActionBlock<InstanceResult>(CommitInstances, new ExecutionDataflowBlockOptions { BoundedCapacity = settings.Window * 4, CancellationToken = token });

        ask.LinkTo(process, new DataflowLinkOptions { PropagateCompletion = true });
        instances.LinkTo(commit, new DataflowLinkOptions { PropagateCompletion = true });
        _ = process.Completion.ContinueWith(t =>
        {
            if (t.IsFaulted) ((IDataflowBlock)instances).Fault(t.Exception!.GetBaseException());
            else instances.Complete();
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        IDataflowBlock[] blocks = [ask, process, instances, commit];
        GraphCompletion.CancelOnFault(run, blocks);
        try
        {
            await GraphCompletion.RunAsync(ask, commit, blocks, async () =>
            {
                foreach (var instruction in pending)
                    if (!await instances.SendAsync(instruction, token).ConfigureAwait(false)) return;
                await ProduceAsync(ask, nextPrompt, token).ConfigureAwait(false);
            }, "generation", cancellationToken).ConfigureAwait(false);
        }
        // A user error (a setting the teacher refuses, a file at fault) is reported once, in one line, by the command.
        catch (GraphFaultedException e) when (e.InnerException is not UserErrorException)
        {
            LogRunFailed(logger, e.InnerException!);
            throw;
        }
    }

    /// <summary>Reloads a resumed run: processed prompts, accepted instructions in order, and instructions still waiting for instances.</summary>
    private (long NextPrompt, List<StoredInstruction> Pending) Restore()
    {
        foreach (var (k, acceptedAfter) in store.ProcessedPrompts())
        {
            if (k != _acceptedAfter.Count) throw new InvalidOperationException($"the run store is inconsistent: prompt {k} processed before prompt {_acceptedAfter.Count}");
            _acceptedAfter.Add(acceptedAfter);
        }
        var instructions = store.Instructions();
        foreach (var i in instructions) instructionStage.Restore(i.Text);
        return (_acceptedAfter.Count, instructions.Where(i => i.Status == InstructionStatus.Pending).ToList());
    }

    private async Task ProduceAsync(ITargetBlock<PromptJob> ask, long next, CancellationToken token)
    {
        for (var k = next; k < settings.MaxPrompts; k++)
        {
            // Prompt k may use what prompts up to k − Window accepted; wait until that prompt is processed.
            var basis = k - settings.Window;
            await WaitProcessedAsync(basis, token).ConfigureAwait(false);
            var pool = basis < 0 ? 0 : AcceptedAfter(basis);
            if (pool >= settings.Target) return;
            if (!await ask.SendAsync(new PromptJob(k, pool), token).ConfigureAwait(false)) return;
        }
        LogGaveUp(logger, settings.MaxPrompts);
    }

    private async Task<PromptAnswer> AskForInstructionsAsync(PromptJob job, CancellationToken token)
    {
        var prompt = await promptBuilder.BuildAsync(job.Index, instructionStage.MachinePrefix(job.PoolSize), token).ConfigureAwait(false);
        var options = new ChatOptions
        {
            Seed = SelfInstructPromptBuilder.RandomFor(settings.RunSeed, job.Index, 1).Next(),
            MaxOutputTokens = settings.InstructionMaxTokens,
            Temperature = settings.Temperature,
            TopP = settings.TopP,
            TopK = settings.TopK,
            PresencePenalty = settings.PresencePenalty,
            FrequencyPenalty = settings.FrequencyPenalty,
            AdditionalProperties = new() { [ChatOptionsMapper.MinPKey] = settings.MinP, [ChatOptionsMapper.PriorityKey] = ListPriority(job.Index) },
            // A completion model's list ends at its first blank line, as in the reference; a chat model puts blank lines
            // between its preamble, its items and its closing remark, so only the item past the last one stops it.
            StopSequences = settings.ChatMode ? [$"\n{settings.PromptTasks * 2 + 1}."] : ["\n\n", $"\n{settings.PromptTasks * 2 + 1}."],
        };
        if (settings.InstructionGrammar is not null) options.AdditionalProperties[ChatOptionsMapper.GrammarKey] = settings.InstructionGrammar;
        var outcome = await requests.AskAsync($"instruction:{job.Index}", "instruction", prompt.Text, options, token).ConfigureAwait(false);
        return new PromptAnswer(job.Index, outcome, prompt.Tasks.Count + 1);
    }

    /// <summary>
    /// A new list waits behind the classification and examples of instructions already accepted (priority 0), so a
    /// run stopped at any time holds finished records, not a pile of instructions without examples; and behind every
    /// earlier list, because answers are processed in prompt order: a later list answered first only waits, and the
    /// prompts after it wait for the earlier one (with one priority for all lists, the order in which the concurrent
    /// requests reached the engine decided, and a first list left for the second wave held up the whole run).
    /// </summary>
    internal static int ListPriority(long prompt) => 1 + (int)Math.Min(prompt, int.MaxValue - 1);

    private async Task ProcessAnswerAsync(PromptAnswer answer, ITargetBlock<StoredInstruction> instances, CancellationToken token)
    {
        IReadOnlyList<StoredInstruction> accepted;
        IReadOnlyList<StoredRejection> rejected;
        if (answer.Outcome.Succeeded)
            (accepted, rejected) = instructionStage.Process(answer.Index, answer.Outcome.Text, answer.Outcome.Truncated, answer.OpenNumber);
        else
        {
            accepted = [];
            rejected = [answer.Outcome.ToRejection("teacher", $"prompt {answer.Index}", $"prompt {answer.Index}")];
        }
        store.CommitPrompt(answer.Index, instructionStage.AcceptedCount, accepted, rejected);
        foreach (var r in rejected) progress.Rejections.Add(r.Stage, r.Reason);
        progress.SetAccepted(instructionStage.AcceptedCount);
        progress.PromptProcessed();
        MarkProcessed(instructionStage.AcceptedCount);
        foreach (var instruction in accepted)
            if (!await instances.SendAsync(instruction, token).ConfigureAwait(false)) return;
    }

    private void CommitInstances(InstanceResult result)
    {
        store.CommitInstances(result.InstructionId, result.IsClassification, result.Kept.Select(i => (i.Input, i.Output)).ToList(), result.Rejected, result.TaskRejected);
        foreach (var r in result.Rejected) progress.Rejections.Add(r.Stage, r.Reason);
        progress.InstancesDone();
    }

    private int AcceptedAfter(long k)
    {
        lock (_gateLock) return _acceptedAfter[(int)k];
    }

    private void MarkProcessed(int acceptedAfter)
    {
        TaskCompletionSource signal;
        lock (_gateLock)
        {
            _acceptedAfter.Add(acceptedAfter);
            signal = _processedSignal;
            _processedSignal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        signal.TrySetResult();
    }

    private async Task WaitProcessedAsync(long k, CancellationToken token)
    {
        while (true)
        {
            Task wait;
            lock (_gateLock)
            {
                if (k < _acceptedAfter.Count) return;
                wait = _processedSignal.Task;
            }
            await wait.WaitAsync(token).ConfigureAwait(false);
        }
    }

    [LoggerMessage(EventId = 50, Level = LogLevel.Error, Message = "the generation pipeline stopped")]
    private static partial void LogRunFailed(ILogger logger, Exception error);

    [LoggerMessage(EventId = 51, Level = LogLevel.Warning, Message = "stopped after {Prompts} prompts without reaching the target: the teacher's answers keep being rejected (see rejected.jsonl)")]
    private static partial void LogGaveUp(ILogger logger, int prompts);
}

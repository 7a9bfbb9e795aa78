using System.Threading.Tasks.Dataflow;

namespace SynthPipeline.Pipeline.Graph;

/// <summary>
/// How a run's Dataflow graph ends, the same for every run: a block that faults cancels the others (nothing waits
/// forever on a dead block), and the first real fault is rethrown as the run's failure; otherwise the caller's
/// cancellation is rethrown, or the graph simply completed.
/// </summary>
public static class GraphCompletion
{
    /// <summary>Cancels <paramref name="run"/> as soon as any of <paramref name="blocks"/> faults.</summary>
    public static void CancelOnFault(CancellationTokenSource run, IEnumerable<IDataflowBlock> blocks)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(blocks);
        foreach (var block in blocks)
            _ = block.Completion.ContinueWith(_ => run.Cancel(), CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
    }

    /// <summary>
    /// Feeds the graph through <paramref name="produce"/>, completes <paramref name="head"/>, waits for
    /// <paramref name="tail"/>, then reports: the first fault of any block (as <see cref="GraphFaultedException"/>
    /// naming <paramref name="graphName"/>), else the caller's cancellation.
    /// </summary>
    public static async Task RunAsync(IDataflowBlock head, IDataflowBlock tail, IReadOnlyList<IDataflowBlock> blocks, Func<Task> produce, string graphName,
        CancellationToken callerToken)
    {
        ArgumentNullException.ThrowIfNull(head);
        ArgumentNullException.ThrowIfNull(tail);
        ArgumentNullException.ThrowIfNull(blocks);
        ArgumentNullException.ThrowIfNull(produce);
        try
        {
            await produce().ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // the reason is found below: a fault, or the caller's cancellation
        }
        head.Complete();
        try
        {
            await tail.Completion.ConfigureAwait(false);
        }
#pragma warning disable CA1031 // every block's own fault is examined below
        catch (Exception)
#pragma warning restore CA1031
        {
        }
        // A block whose parallel items failed together holds them all: the first real one is the fault to report.
        var fault = blocks.SelectMany(b => b.Completion.Exception?.Flatten().InnerExceptions ?? []).FirstOrDefault(e => e is not OperationCanceledException);
        if (fault is not null)
        {
            // The fault cancelled the run (CancelOnFault); wait until every block's work in flight has seen it, so no
            // teacher request is still running when the caller disposes the teacher (it would be stored as failed).
            await Task.WhenAll(blocks.Select(b => b.Completion)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            throw new GraphFaultedException(graphName, fault);
        }
        callerToken.ThrowIfCancellationRequested();
    }
}

/// <summary>A stage of a run's graph threw: a bug, reported with the stage's exception as the inner one.</summary>
public sealed class GraphFaultedException(string graphName, Exception fault) : Exception($"the {graphName} pipeline stopped: {fault?.Message}", fault)
{
}

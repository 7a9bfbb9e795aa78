using SynthPipeline.Core;
using System.Threading.Tasks.Dataflow;
using Microsoft.Extensions.Logging;
using SynthPipeline.Pipeline.Graph;
using SynthPipeline.Pipeline.State;

namespace SynthPipeline.Pipeline.Augment;

/// <summary>What an augment run reads: a corpus folder and its files, and/or a pairs file with its pairs.</summary>
public sealed record AugmentSources(string? CorpusFolder, IReadOnlyList<string> Files, string? PairsFile, IReadOnlyList<SourcePair> Pairs);

/// <summary>
/// The augment graph, and the only place its Dataflow blocks are created and linked:
/// ingest (read, clean, chunk) → legitimate (grounded questions, judged) → variants (negative and refusal, judged)
/// → commit (one transaction per chunk). Every block is bounded, so a large corpus is read only as fast as the
/// teacher works through it. Per-item failures are rejections; an exception in a stage is a bug, which cancels the
/// whole graph and is reported, never a silent stop.
/// </summary>
public sealed partial class AugmentGraph(CorpusIngest ingest, GroundedQuestionStage legitimate, NegativeStage negative, RefusalStage refusal,
    RunStore store, AugmentProgress progress, ILogger<AugmentGraph> logger, int chunksInFlight)
{
    private sealed record IngestItem(string File, bool IsPairs);

    public async Task RunAsync(AugmentSources sources, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sources);
        var chunks = store.Chunks();
        progress.Start(chunks.Count, chunks.Count(c => c.Status == ChunkStatus.Done), store.RequestTotals().OutputTokens);
        ingest.ReportMissing(sources.Files, sources.PairsFile);
        using var run = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var token = run.Token;
        var parallel = new ExecutionDataflowBlockOptions
        {
            MaxDegreeOfParallelism = chunksInFlight, BoundedCapacity = chunksInFlight, EnsureOrdered = false, CancellationToken = token,
        };

        var read = new TransformManyBlock<IngestItem, ChunkJob>(
            item => item.IsPairs ? ingest.Pairs(item.File, sources.Pairs) : ingest.Document(sources.CorpusFolder!, item.File),
            new ExecutionDataflowBlockOptions { BoundedCapacity = 2, CancellationToken = token });
        var legit = new TransformBlock<ChunkJob, ChunkWork>(async job =>
        {
            var work = new ChunkWork(job);
            await legitimate.RunAsync(work, token).ConfigureAwait(false);
            return work;
        }, parallel);
        var variants = new TransformBlock<ChunkWork, ChunkWork>(async work =>
        {
            await Task.WhenAll(negative.RunAsync(work, token), refusal.RunAsync(work, token)).ConfigureAwait(false);
            return work;
        }, parallel);
        var commit = new ActionBlock<ChunkWork>(work =>
        {
            store.CommitChunk(work.Job.File, work.Job.Index, work.Accepted, work.Rejected);
            progress.ChunkCommitted(work);
        }, new ExecutionDataflowBlockOptions { BoundedCapacity = chunksInFlight, CancellationToken = token });

        var link = new DataflowLinkOptions { PropagateCompletion = true };
        read.LinkTo(legit, link);
        legit.LinkTo(variants, link);
        variants.LinkTo(commit, link);
        IDataflowBlock[] blocks = [read, legit, variants, commit];
        GraphCompletion.CancelOnFault(run, blocks);
        try
        {
            await GraphCompletion.RunAsync(read, commit, blocks, async () =>
            {
                if (sources.PairsFile is not null && !await read.SendAsync(new IngestItem(sources.PairsFile, true), token).ConfigureAwait(false)) return;
                foreach (var file in sources.Files)
                    if (!await read.SendAsync(new IngestItem(file, false), token).ConfigureAwait(false)) return;
            }, "augment", cancellationToken).ConfigureAwait(false);
        }
        // A user error (a setting the teacher refuses, a file at fault) is reported once, in one line, by the command.
        catch (GraphFaultedException e) when (e.InnerException is not UserErrorException)
        {
            LogRunFailed(logger, e.InnerException!);
            throw;
        }
        foreach (var p in progress.Problems) LogDocumentProblem(logger, p.Reason, p.Message);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "the augment pipeline stopped")]
    private static partial void LogRunFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "document skipped ({Reason}): {Message}")]
    private static partial void LogDocumentProblem(ILogger logger, string reason, string message);
}

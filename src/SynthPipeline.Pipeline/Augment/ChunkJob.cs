using SynthPipeline.Pipeline.State;

namespace SynthPipeline.Pipeline.Augment;

/// <summary>
/// One unit of augmentation work: a chunk of a corpus document, or one pair of a pairs file (<see cref="Pair"/> set).
/// <see cref="Text"/> is the source the teacher sees; <see cref="Start"/>..<see cref="End"/> is its span in the
/// cleaned document (or in the pairs file).
/// </summary>
public sealed record ChunkJob(string File, int Index, int Start, int End, string Text, SourcePair? Pair)
{
    /// <summary>The job for one pair of a pairs file: its line is the chunk index, the pair itself the source text.</summary>
    public static ChunkJob ForPair(string file, SourcePair pair)
    {
        ArgumentNullException.ThrowIfNull(pair);
        return new ChunkJob(file, pair.Line, pair.Start, pair.End, $"Question: {pair.Question}\nAnswer: {pair.Answer}", pair);
    }

    /// <summary>"file#index", the source named in rejections.</summary>
    public string Source => $"{File}#{Index}";

    /// <summary>Stable example id: sorts by file, then chunk, then kind and number.</summary>
    public string ExampleId(string kind, int n) => $"{File}|{Index:D7}|{kind}|{n:D2}";
}

/// <summary>What a chunk's stages produced; committed together when the last stage is done.</summary>
public sealed class ChunkWork(ChunkJob job)
{
    public ChunkJob Job { get; } = job;

    public List<StoredExample> Accepted { get; } = [];

    public List<StoredRejection> Rejected { get; } = [];

    internal void Accept(StoredExample example)
    {
        lock (Accepted) Accepted.Add(example);
    }

    internal void Reject(StoredRejection rejection)
    {
        lock (Rejected) Rejected.Add(rejection);
    }

    internal void Reject(string stage, string reason, string? detail, string text)
    {
        lock (Rejected) Rejected.Add(new StoredRejection { Stage = stage, Reason = reason, Detail = detail, Text = text, Source = Job.Source });
    }
}

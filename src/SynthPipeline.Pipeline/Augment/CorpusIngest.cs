using SynthPipeline.Core.Corpus;
using SynthPipeline.Core.Options;
using SynthPipeline.Pipeline.Augment;
using SynthPipeline.Pipeline.Output;
using SynthPipeline.Pipeline.State;

namespace SynthPipeline.Pipeline.Augment;

/// <summary>
/// Turns corpus documents and a pairs file into chunk jobs. A document is read, cleaned and chunked once; its cleaned
/// text is kept under <c>sources/</c> in the run folder (provenance spans point into it) and its chunks are recorded
/// in the store, so a resumed run yields exactly the chunks not yet committed. A document that changed since the
/// run started is refused rather than mixed with its old chunks.
/// </summary>
public sealed class CorpusIngest(RunStore store, CorpusReader reader, Func<string, int> countTokens, AugmentOptions options, string runFolder, AugmentProgress progress)
{
    private readonly Dictionary<string, StoredDocument> _known = store.Documents().ToDictionary(d => d.File, StringComparer.Ordinal);
    private readonly ILookup<string, StoredChunk> _chunks = store.Chunks().ToLookup(c => c.File, StringComparer.Ordinal);

    /// <summary>Folder of the cleaned document texts.</summary>
    public const string SourcesFolder = "sources";

    public IEnumerable<ChunkJob> Document(string corpusFolder, string file)
    {
        var (document, problem) = reader.Read(corpusFolder, file);
        _known.TryGetValue(file, out var known);
        // A file that was a problem when the run started and reads now (fixed before the resume) is taken in as new.
        if (known is { Status: DocumentStatus.Problem } && problem is null) known = null;
        if (problem is not null)
        {
            if (known is null) store.SaveDocument(new StoredDocument(file, DocumentStatus.Problem, problem.Reason, problem.Message, 0, 0, 0, null), []);
            else if (known.Status == DocumentStatus.Ok && _chunks[file].Any(c => c.Status == ChunkStatus.Pending))
                problem = problem with { Message = problem.Message + "; its remaining chunks wait until the file reads again" };
            progress.Problem(problem);
            return [];
        }
        if (known is { Status: DocumentStatus.Ok } && known.Sha256 != document!.Sha256)
        {
            progress.Problem(new DocumentProblem(file, "changed_since_start",
                $"'{file}': changed since this run started; its earlier chunks are kept, the new text is not used (start a new run for it)"));
            return [];
        }
        if (known is null)
        {
            var chunks = TextChunker.Chunk(document!.Text, countTokens, options.ChunkTokens, options.ChunkOverlapTokens);
            var copy = Path.Combine(runFolder, SourcesFolder, file + ".txt");
            Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
            AtomicFile.WriteText(copy, document.Text);
            var stored = chunks.Select(c => new StoredChunk(file, c.Index, c.Start, c.End, c.Tokens, ChunkStatus.Pending)).ToList();
            store.SaveDocument(new StoredDocument(file, DocumentStatus.Ok, null, null, document.Text.Length, document.Pages, chunks.Count, document.Sha256), stored);
            progress.DocumentRead(document.Pages, chunks.Count);
            return stored.Select(c => Job(c, document.Text));
        }
        progress.DocumentRead(0, 0);
        return _chunks[file].Where(c => c.Status == ChunkStatus.Pending).Select(c => Job(c, document!.Text)).ToList();
    }

    /// <summary>
    /// Documents of this run that still have chunks to do but are no longer in the corpus folder (moved or deleted
    /// before a resume): reported, so that a run that ends short says why.
    /// </summary>
    public void ReportMissing(IReadOnlyCollection<string> files, string? pairsFile)
    {
        var present = files.ToHashSet(StringComparer.Ordinal);
        if (pairsFile is not null) present.Add(PairsName(pairsFile));
        foreach (var d in _known.Values.Where(d => d.Status == DocumentStatus.Ok && !present.Contains(d.File) && _chunks[d.File].Any(c => c.Status == ChunkStatus.Pending)))
            progress.Problem(new DocumentProblem(d.File, "missing_since_start",
                $"'{d.File}': is no longer in the corpus folder; its {_chunks[d.File].Count(c => c.Status == ChunkStatus.Pending)} remaining chunks were not done"));
    }

    /// <summary>
    /// How a pairs file is named in ids and provenance: its file name. Ids (and the seeds derived from them) then do
    /// not depend on where the run folder is, so the same inputs give the same data in any folder.
    /// </summary>
    public static string PairsName(string path) => Path.GetFileName(path);

    /// <summary>A pairs file: one job per pair, its chunk index being its line.</summary>
    public IEnumerable<ChunkJob> Pairs(string path, IReadOnlyList<SourcePair> pairs)
    {
        var file = PairsName(path);
        _known.TryGetValue(file, out var known);
        if (known is null)
        {
            var stored = pairs.Select(p => new StoredChunk(file, p.Line, p.Start, p.End, 0, ChunkStatus.Pending)).ToList();
            store.SaveDocument(new StoredDocument(file, DocumentStatus.Ok, null, null, 0, 0, stored.Count, null), stored);
            progress.DocumentRead(0, stored.Count);
            return pairs.Select(p => ChunkJob.ForPair(file, p));
        }
        var pending = _chunks[file].Where(c => c.Status == ChunkStatus.Pending).Select(c => c.Index).ToHashSet();
        return pairs.Where(p => pending.Contains(p.Line))
            .Select(p => ChunkJob.ForPair(file, p)).ToList();
    }

    private static ChunkJob Job(StoredChunk c, string document) => new(c.File, c.Index, c.Start, c.End, document[c.Start..c.End], null);
}

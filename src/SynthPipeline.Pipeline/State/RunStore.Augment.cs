using SynthPipeline.Core.Augment;

namespace SynthPipeline.Pipeline.State;

/// <summary>A corpus document as first read: its cleaned size and hash, or the problem that kept it out.</summary>
public sealed record StoredDocument(string File, DocumentStatus Status, string? Reason, string? Message, int Characters, int Pages, int Chunks, string? Sha256);

/// <summary>A chunk of a document (or one line of a pairs file) and whether its work is committed.</summary>
public sealed record StoredChunk(string File, int Index, int Start, int End, int Tokens, ChunkStatus Status);

/// <summary>
/// An accepted example with its provenance: the source file, chunk index (the line, for a pairs file) and character
/// span of the source in the cleaned document. <see cref="FlawedAnswer"/> is the premise-accepting answer a
/// correction conversation shows (never trained on).
/// </summary>
public sealed record StoredExample(string Id, ExampleKind Kind, string File, int Chunk, int SpanStart, int SpanEnd, string Question, string Answer,
    string? FlawedAnswer, string? Topic, string Checks);

public sealed partial class RunStore
{
    private const string AugmentSchema = """
        CREATE TABLE IF NOT EXISTS documents(file TEXT PRIMARY KEY, status TEXT NOT NULL, reason TEXT, message TEXT, characters INTEGER NOT NULL,
            pages INTEGER NOT NULL, chunks INTEGER NOT NULL, sha256 TEXT);
        CREATE TABLE IF NOT EXISTS chunks(file TEXT NOT NULL, idx INTEGER NOT NULL, start INTEGER NOT NULL, end_ INTEGER NOT NULL, tokens INTEGER NOT NULL,
            status TEXT NOT NULL, PRIMARY KEY(file, idx));
        CREATE TABLE IF NOT EXISTS examples(id TEXT PRIMARY KEY, kind TEXT NOT NULL, file TEXT NOT NULL, chunk INTEGER NOT NULL, span_start INTEGER NOT NULL,
            span_end INTEGER NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL, flawed TEXT, topic TEXT, checks TEXT NOT NULL);
        """;

    /// <summary>
    /// Records a document and its chunks (pending) in one transaction. A document already recorded is left as it is,
    /// unless it was recorded as a problem: a file fixed before a resume is then taken in.
    /// </summary>
    public void SaveDocument(StoredDocument document, IReadOnlyList<StoredChunk> chunks)
    {
        ArgumentNullException.ThrowIfNull(document);
        ArgumentNullException.ThrowIfNull(chunks);
        lock (_lock)
        {
            using var tx = _connection.BeginTransaction();
            using (var c = Command("""
                INSERT INTO documents(file, status, reason, message, characters, pages, chunks, sha256)
                VALUES($f, $s, $r, $m, $c, $p, $n, $h)
                ON CONFLICT(file) DO UPDATE SET status = $s, reason = $r, message = $m, characters = $c, pages = $p, chunks = $n, sha256 = $h
                WHERE documents.status = $problem
                """, ("$f", document.File), ("$s", StoredName.Of(document.Status)), ("$problem", StoredName.Of(DocumentStatus.Problem)), ("$r", document.Reason), ("$m", document.Message), ("$c", document.Characters),
                ("$p", document.Pages), ("$n", document.Chunks), ("$h", document.Sha256)))
            {
                c.Transaction = tx;
                c.ExecuteNonQuery();
            }
            foreach (var k in chunks)
            {
                using var c = Command("INSERT OR IGNORE INTO chunks(file, idx, start, end_, tokens, status) VALUES($f, $i, $s, $e, $t, $pending)",
                    ("$f", k.File), ("$i", k.Index), ("$s", k.Start), ("$e", k.End), ("$t", k.Tokens), ("$pending", StoredName.Of(ChunkStatus.Pending)));
                c.Transaction = tx;
                c.ExecuteNonQuery();
            }
            tx.Commit();
        }
    }

    /// <summary>Commits a chunk's accepted examples and rejections and marks it done, in one transaction.</summary>
    public void CommitChunk(string file, int index, IReadOnlyList<StoredExample> examples, IReadOnlyList<StoredRejection> rejected)
    {
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentNullException.ThrowIfNull(rejected);
        lock (_lock)
        {
            using var tx = _connection.BeginTransaction();
            foreach (var e in examples)
            {
                using var c = Command("""
                    INSERT OR REPLACE INTO examples(id, kind, file, chunk, span_start, span_end, question, answer, flawed, topic, checks)
                    VALUES($id, $kind, $file, $chunk, $s, $e, $q, $a, $flawed, $topic, $checks)
                    """, ("$id", e.Id), ("$kind", e.Kind.ToString()), ("$file", e.File), ("$chunk", e.Chunk), ("$s", e.SpanStart), ("$e", e.SpanEnd),
                    ("$q", e.Question), ("$a", e.Answer), ("$flawed", e.FlawedAnswer), ("$topic", e.Topic), ("$checks", e.Checks));
                c.Transaction = tx;
                c.ExecuteNonQuery();
            }
            InsertRejections(rejected, tx);
            using (var c = Command("UPDATE chunks SET status = $done WHERE file = $f AND idx = $i", ("$f", file), ("$i", index), ("$done", StoredName.Of(ChunkStatus.Done))))
            {
                c.Transaction = tx;
                c.ExecuteNonQuery();
            }
            tx.Commit();
        }
    }

    public IReadOnlyList<StoredDocument> Documents() =>
        Query("SELECT file, status, reason, message, characters, pages, chunks, sha256 FROM documents ORDER BY file", r =>
            new StoredDocument(r.GetString(0), StoredName.Parse<DocumentStatus>(r.GetString(1)), r.IsDBNull(2) ? null : r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3),
                r.GetInt32(4), r.GetInt32(5), r.GetInt32(6), r.IsDBNull(7) ? null : r.GetString(7)));

    public IReadOnlyList<StoredChunk> Chunks() =>
        Query("SELECT file, idx, start, end_, tokens, status FROM chunks ORDER BY file, idx", r =>
            new StoredChunk(r.GetString(0), r.GetInt32(1), r.GetInt32(2), r.GetInt32(3), r.GetInt32(4), StoredName.Parse<ChunkStatus>(r.GetString(5))));

    /// <summary>Accepted examples in a stable order (by id), so every export of the same state is the same.</summary>
    public IReadOnlyList<StoredExample> Examples() =>
        Query("SELECT id, kind, file, chunk, span_start, span_end, question, answer, flawed, topic, checks FROM examples ORDER BY id", r =>
            new StoredExample(r.GetString(0), Enum.Parse<ExampleKind>(r.GetString(1)), r.GetString(2), r.GetInt32(3), r.GetInt32(4), r.GetInt32(5),
                r.GetString(6), r.GetString(7), r.IsDBNull(8) ? null : r.GetString(8), r.IsDBNull(9) ? null : r.GetString(9), r.GetString(10)));
}

using Microsoft.Data.Sqlite;
using SynthPipeline.Core.Options;

namespace SynthPipeline.Pipeline.State;

/// <summary>An accepted instruction as stored.</summary>
public sealed record StoredInstruction(int Id, long PromptIndex, string Text, string? MostSimilar, double Score, bool? IsClassification, InstructionStatus Status)
{
    /// <summary>The reference's record: the 10 most similar earlier instructions with their ROUGE-L F, highest first.</summary>
    public IReadOnlyList<(string Text, double Score)> Similar { get; init; } = [];

    /// <summary>Mean ROUGE-L F against every earlier instruction (the reference's avg_similarity_score).</summary>
    public double? AverageSimilarity { get; init; }
}

/// <summary>A rejection as stored: the stage, the reason, what was rejected and where it came from; for novelty, the closest text and its score.</summary>
public sealed record StoredRejection
{
    public required string Stage { get; init; }
    public required string Reason { get; init; }
    public string? Detail { get; init; }
    public required string Text { get; init; }
    public string? MostSimilar { get; init; }
    public double? Score { get; init; }
    public required string Source { get; init; }
}

/// <summary>A teacher request and its answer.</summary>
public sealed record StoredRequest(string Id, string Kind, string Prompt, string? Response, bool Truncated, RequestStatus Status, string? Reason, int Attempts, int OutputTokens);

/// <summary>
/// The run's state in SQLite (WAL) inside the run folder. Every request and answer, accepted instruction, instance
/// and rejection is committed as it happens, so a run killed at any moment resumes with nothing lost or repeated.
/// One connection, serialised: the writers are the pipeline's stages.
/// </summary>
public sealed partial class RunStore : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly Lock _lock = new();

    private RunStore(SqliteConnection connection) => _connection = connection;

    public const string FileName = "state.db";

    public static RunStore Open(string runFolder)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(runFolder, FileName),
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
        }.ToString());
        connection.Open();
        var store = new RunStore(connection);
        store.Execute("""
            PRAGMA journal_mode=WAL;
            PRAGMA synchronous=NORMAL;
            CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS requests(id TEXT PRIMARY KEY, kind TEXT NOT NULL, prompt TEXT NOT NULL, response TEXT,
                truncated INTEGER NOT NULL, status TEXT NOT NULL, reason TEXT, attempts INTEGER NOT NULL, output_tokens INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS instruction_similarity(id INTEGER PRIMARY KEY, most_similar TEXT NOT NULL, average REAL NOT NULL);
            CREATE TABLE IF NOT EXISTS request_usage(id TEXT PRIMARY KEY, stage TEXT NOT NULL, role TEXT NOT NULL, endpoint TEXT NOT NULL,
                input_tokens INTEGER NOT NULL, cached_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, cost REAL, at REAL);
            CREATE TABLE IF NOT EXISTS processed_prompts(k INTEGER PRIMARY KEY, accepted_after INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS instructions(id INTEGER PRIMARY KEY, prompt_k INTEGER NOT NULL, text TEXT NOT NULL,
                most_similar TEXT, score REAL NOT NULL, is_classification INTEGER, status TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS instances(instruction_id INTEGER NOT NULL, ord INTEGER NOT NULL, input TEXT NOT NULL, output TEXT NOT NULL,
                PRIMARY KEY(instruction_id, ord));
            CREATE TABLE IF NOT EXISTS rejections(seq INTEGER PRIMARY KEY AUTOINCREMENT, stage TEXT NOT NULL, reason TEXT NOT NULL, detail TEXT,
                text TEXT NOT NULL, most_similar TEXT, score REAL, source TEXT NOT NULL);
            """);
        store.Execute(AugmentSchema);
        return store;
    }

    public string? GetMeta(string key)
    {
        lock (_lock)
        {
            using var c = Command("SELECT value FROM meta WHERE key = $k", ("$k", key));
            return c.ExecuteScalar() as string;
        }
    }

    public void SetMeta(string key, string value)
    {
        lock (_lock)
        {
            using var c = Command("INSERT INTO meta(key, value) VALUES($k, $v) ON CONFLICT(key) DO UPDATE SET value = $v", ("$k", key), ("$v", value));
            c.ExecuteNonQuery();
        }
    }

    public StoredRequest? GetRequest(string id)
    {
        lock (_lock)
        {
            using var c = Command("SELECT id, kind, prompt, response, truncated, status, reason, attempts, output_tokens FROM requests WHERE id = $id", ("$id", id));
            using var r = c.ExecuteReader();
            return r.Read() ? ReadRequest(r) : null;
        }
    }

    public void SaveRequest(StoredRequest request, RequestUsage? usage = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_lock)
        {
            using var tx = _connection.BeginTransaction();
            using var c = Command("""
                INSERT INTO requests(id, kind, prompt, response, truncated, status, reason, attempts, output_tokens)
                VALUES($id, $kind, $prompt, $response, $truncated, $status, $reason, $attempts, $tokens)
                ON CONFLICT(id) DO UPDATE SET response = $response, truncated = $truncated, status = $status, reason = $reason,
                    attempts = $attempts, output_tokens = $tokens
                """,
                ("$id", request.Id), ("$kind", request.Kind), ("$prompt", request.Prompt), ("$response", request.Response),
                ("$truncated", request.Truncated ? 1 : 0), ("$status", StoredName.Of(request.Status)), ("$reason", request.Reason),
                ("$attempts", request.Attempts), ("$tokens", request.OutputTokens));
            c.Transaction = tx;
            c.ExecuteNonQuery();
            if (usage is not null)
            {
                using var u = Command("""
                    INSERT INTO request_usage(id, stage, role, endpoint, input_tokens, cached_tokens, output_tokens, cost, at)
                    VALUES($id, $stage, $role, $endpoint, $input, $cached, $output, $cost, $at)
                    ON CONFLICT(id) DO UPDATE SET stage = $stage, role = $role, endpoint = $endpoint, input_tokens = $input,
                        cached_tokens = $cached, output_tokens = $output, cost = $cost, at = $at
                    """, ("$id", request.Id), ("$stage", usage.Stage), ("$role", StoredName.Of(usage.Role)), ("$endpoint", usage.Endpoint),
                    ("$input", usage.InputTokens), ("$cached", usage.CachedTokens), ("$output", usage.OutputTokens), ("$cost", usage.Cost),
                    ("$at", usage.At?.ToUnixTimeMilliseconds() / 1000.0));
                u.Transaction = tx;
                u.ExecuteNonQuery();
            }
            tx.Commit();
        }
    }

    /// <summary>Each accepted instruction's most similar earlier instructions (JSON: [{text, score}]) and mean similarity, by id.</summary>
    public IReadOnlyDictionary<int, (string MostSimilarJson, double Average)> SimilarityProfiles() =>
        Query("SELECT id, most_similar, average FROM instruction_similarity", r => (r.GetInt32(0), r.GetString(1), r.GetDouble(2)))
            .ToDictionary(x => x.Item1, x => (x.Item2, x.Item3));

    /// <summary>
    /// Answers and completion tokens per <paramref name="buckets"/> equal spans of the time between the run's first
    /// and last recorded answer (a resumed run's pause shows as empty buckets).
    /// </summary>
    public IReadOnlyList<ThroughputBucket> Throughput(int buckets)
    {
        var times = Query("SELECT at, output_tokens FROM request_usage WHERE at IS NOT NULL ORDER BY at", r => (r.GetDouble(0), r.GetInt64(1)));
        if (times.Count == 0) return [];
        var first = times[0].Item1;
        var width = Math.Max(1, (times[^1].Item1 - first) / buckets);
        return [.. times.GroupBy(t => Math.Min(buckets - 1, (int)((t.Item1 - first) / width))).OrderBy(g => g.Key)
            .Select(g => new ThroughputBucket(g.Key * width, width, g.Count(), g.Sum(t => t.Item2)))];
    }

    /// <summary>Token and cost totals of the answered requests, per stage, role and endpoint.</summary>
    public IReadOnlyList<UsageTotal> UsageTotals() => Query("""
        SELECT stage, role, endpoint, COUNT(*), SUM(input_tokens), SUM(cached_tokens), SUM(output_tokens), SUM(cost), COUNT(cost)
        FROM request_usage GROUP BY stage, role, endpoint ORDER BY stage, role, endpoint
        """, r => new UsageTotal(r.GetString(0), StoredName.Parse<TeacherRole>(r.GetString(1)), r.GetString(2), r.GetInt64(3), r.GetInt64(4), r.GetInt64(5),
        r.GetInt64(6), r.GetInt64(8) > 0 ? r.GetDouble(7) : null));

    /// <summary>Commits the outcome of prompt k in one transaction: its accepted instructions and rejections.</summary>
    public void CommitPrompt(long k, int acceptedAfter, IReadOnlyList<StoredInstruction> accepted, IReadOnlyList<StoredRejection> rejected)
    {
        ArgumentNullException.ThrowIfNull(accepted);
        ArgumentNullException.ThrowIfNull(rejected);
        lock (_lock)
        {
            using var tx = _connection.BeginTransaction();
            foreach (var i in accepted)
            {
                using var c = Command("""
                    INSERT INTO instructions(id, prompt_k, text, most_similar, score, is_classification, status)
                    VALUES($id, $k, $text, $similar, $score, NULL, $pending)
                    """, ("$id", i.Id), ("$k", k), ("$text", i.Text), ("$similar", i.MostSimilar), ("$score", i.Score), ("$pending", StoredName.Of(InstructionStatus.Pending)));
                c.Transaction = tx;
                c.ExecuteNonQuery();
                if (i.AverageSimilarity is { } average)
                {
                    using var p = Command("INSERT INTO instruction_similarity(id, most_similar, average) VALUES($id, $similar, $average)",
                        ("$id", i.Id), ("$similar", System.Text.Json.JsonSerializer.Serialize(i.Similar.Select(x => new { text = x.Text, score = x.Score }))), ("$average", average));
                    p.Transaction = tx;
                    p.ExecuteNonQuery();
                }
            }
            InsertRejections(rejected, tx);
            using (var c = Command("INSERT INTO processed_prompts(k, accepted_after) VALUES($k, $n)", ("$k", k), ("$n", acceptedAfter)))
            {
                c.Transaction = tx;
                c.ExecuteNonQuery();
            }
            tx.Commit();
        }
    }

    /// <summary>Commits an instruction's classification and instances (or its rejection) in one transaction.</summary>
    public void CommitInstances(int instructionId, bool? isClassification, IReadOnlyList<(string Input, string Output)> instances,
        IReadOnlyList<StoredRejection> rejected, bool taskRejected)
    {
        ArgumentNullException.ThrowIfNull(instances);
        ArgumentNullException.ThrowIfNull(rejected);
        lock (_lock)
        {
            using var tx = _connection.BeginTransaction();
            for (var i = 0; i < instances.Count; i++)
            {
                using var c = Command("INSERT OR REPLACE INTO instances(instruction_id, ord, input, output) VALUES($id, $ord, $in, $out)",
                    ("$id", instructionId), ("$ord", i), ("$in", instances[i].Input), ("$out", instances[i].Output));
                c.Transaction = tx;
                c.ExecuteNonQuery();
            }
            InsertRejections(rejected, tx);
            using (var c = Command("UPDATE instructions SET is_classification = $c, status = $s WHERE id = $id",
                       ("$c", isClassification is null ? null : isClassification.Value ? 1 : 0), ("$s", StoredName.Of(taskRejected ? InstructionStatus.Rejected : InstructionStatus.Done)), ("$id", instructionId)))
            {
                c.Transaction = tx;
                c.ExecuteNonQuery();
            }
            tx.Commit();
        }
    }

    /// <summary>Prompts processed so far, in order, with the accepted count after each.</summary>
    public IReadOnlyList<(long K, int AcceptedAfter)> ProcessedPrompts() =>
        Query("SELECT k, accepted_after FROM processed_prompts ORDER BY k", r => (r.GetInt64(0), r.GetInt32(1)));

    public IReadOnlyList<StoredInstruction> Instructions() =>
        Query("SELECT id, prompt_k, text, most_similar, score, is_classification, status FROM instructions ORDER BY id", r =>
            new StoredInstruction(r.GetInt32(0), r.GetInt64(1), r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3), r.GetDouble(4),
                r.IsDBNull(5) ? null : r.GetInt32(5) == 1, StoredName.Parse<InstructionStatus>(r.GetString(6))));

    public IReadOnlyList<(int InstructionId, string Input, string Output)> Instances() =>
        Query("SELECT instruction_id, input, output FROM instances ORDER BY instruction_id, ord", r => (r.GetInt32(0), r.GetString(1), r.GetString(2)));

    public IReadOnlyList<StoredRejection> Rejections() =>
        Query("SELECT stage, reason, detail, text, most_similar, score, source FROM rejections ORDER BY seq", r =>
            new StoredRejection
            {
                Stage = r.GetString(0), Reason = r.GetString(1), Detail = r.IsDBNull(2) ? null : r.GetString(2), Text = r.GetString(3),
                MostSimilar = r.IsDBNull(4) ? null : r.GetString(4), Score = r.IsDBNull(5) ? null : r.GetDouble(5), Source = r.GetString(6),
            });

    public (long Requests, long Failed, long OutputTokens) RequestTotals()
    {
        var rows = Query($"SELECT COUNT(*), SUM(CASE WHEN status = '{StoredName.Of(RequestStatus.Failed)}' THEN 1 ELSE 0 END), COALESCE(SUM(output_tokens), 0) FROM requests",
            r => (r.GetInt64(0), r.IsDBNull(1) ? 0 : r.GetInt64(1), r.GetInt64(2)));
        return rows[0];
    }

    /// <summary>Closes the store after any statement in progress: a connection closed under a running transaction fails unpredictably.</summary>
    public void Dispose()
    {
        lock (_lock) _connection.Dispose();
    }

    private void InsertRejections(IReadOnlyList<StoredRejection> rejected, SqliteTransaction tx)
    {
        foreach (var j in rejected)
        {
            using var c = Command("""
                INSERT INTO rejections(stage, reason, detail, text, most_similar, score, source)
                VALUES($stage, $reason, $detail, $text, $similar, $score, $source)
                """, ("$stage", j.Stage), ("$reason", j.Reason), ("$detail", j.Detail), ("$text", j.Text), ("$similar", j.MostSimilar),
                ("$score", j.Score), ("$source", j.Source));
            c.Transaction = tx;
            c.ExecuteNonQuery();
        }
    }

    private List<T> Query<T>(string sql, Func<SqliteDataReader, T> read)
    {
        lock (_lock)
        {
            using var c = Command(sql);
            using var r = c.ExecuteReader();
            var list = new List<T>();
            while (r.Read()) list.Add(read(r));
            return list;
        }
    }

    private void Execute(string sql)
    {
        lock (_lock)
        {
            using var c = Command(sql);
            c.ExecuteNonQuery();
        }
    }

    private static StoredRequest ReadRequest(SqliteDataReader r) => new(r.GetString(0), r.GetString(1), r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3),
        r.GetInt32(4) == 1, StoredName.Parse<RequestStatus>(r.GetString(5)), r.IsDBNull(6) ? null : r.GetString(6), r.GetInt32(7), r.GetInt32(8));

    private SqliteCommand Command(string sql, params (string Name, object? Value)[] parameters)
    {
        var c = _connection.CreateCommand();
        c.CommandText = sql;
        foreach (var (name, value) in parameters) c.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return c;
    }
}

namespace SynthPipeline.Pipeline.Teacher;

/// <summary>
/// Remembers which endpoint last served each prompt prefix, so requests that share a long prefix (a chunk's question,
/// negative, refusal and judge prompts; Self-Instruct's few-shot header) go where the server's prefix cache already
/// holds it. Prefixes are hashed in blocks of <see cref="BlockChars"/> characters, each block's key chained on the one
/// before, so a lookup finds the longest remembered prefix in one pass. Bounded: the oldest keys are forgotten first.
/// Thread-safe.
/// </summary>
public sealed class PrefixAffinity(int minimumChars = 512, int capacity = 1 << 16)
{
    public const int BlockChars = 128;
    private const int MaxBlocks = 128;
    private readonly Dictionary<ulong, int> _owner = [];
    private readonly Queue<ulong> _order = new();
    private readonly Lock _gate = new();

    /// <summary>Shared prefixes shorter than this are not worth steering for.</summary>
    public int MinimumChars { get; } = minimumChars;

    /// <summary>The chained block keys of <paramref name="prompt"/> (whole blocks only, up to 16K characters).</summary>
    public static ulong[] Keys(string prompt)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var blocks = Math.Min(MaxBlocks, prompt.Length / BlockChars);
        var keys = new ulong[blocks];
        var hash = 14695981039346656037UL;
        for (var b = 0; b < blocks; b++)
        {
            foreach (var c in prompt.AsSpan(b * BlockChars, BlockChars))
                hash = (hash ^ c) * 1099511628211UL;
            keys[b] = hash;
        }
        return keys;
    }

    /// <summary>The endpoint that last served the longest remembered prefix of at least <see cref="MinimumChars"/>; null when none.</summary>
    public int? Preferred(ulong[] keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var minimumBlocks = Math.Max(1, MinimumChars / BlockChars);
        lock (_gate)
        {
            for (var b = keys.Length - 1; b >= minimumBlocks - 1; b--)
                if (_owner.TryGetValue(keys[b], out var endpoint)) return endpoint;
        }
        return null;
    }

    /// <summary>Records that <paramref name="endpoint"/> now holds every prefix of the prompt with <paramref name="keys"/>.</summary>
    public void Record(ulong[] keys, int endpoint)
    {
        ArgumentNullException.ThrowIfNull(keys);
        lock (_gate)
        {
            foreach (var key in keys)
            {
                if (_owner.TryAdd(key, endpoint)) _order.Enqueue(key);
                else _owner[key] = endpoint;
            }
            while (_owner.Count > capacity) _owner.Remove(_order.Dequeue());
        }
    }
}

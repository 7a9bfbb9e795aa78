namespace SynthPipeline.Llama;

/// <summary>
/// The tokens llama.cpp's penalties sampler currently penalises: the last <c>n</c> accepted, with their counts, kept
/// the way that sampler keeps them (a window of <c>max(n, 0)</c> tokens; the new token is counted before the oldest
/// leaves). The bounded sampler needs to know which tokens a penalty can move; the penalised values themselves still
/// come from llama.cpp's sampler.
/// </summary>
internal sealed class PenaltyWindow(int lastN)
{
    private readonly int _size = Math.Max(lastN, 0);
    private readonly Queue<int> _window = new();
    private readonly Dictionary<int, int> _counts = [];

    /// <summary>Distinct tokens in the window.</summary>
    public Dictionary<int, int>.KeyCollection Tokens => _counts.Keys;

    public void Accept(int token)
    {
        if (_size == 0) return;
        _counts[token] = _counts.GetValueOrDefault(token) + 1;
        if (_window.Count >= _size)
        {
            var old = _window.Dequeue();
            if (--_counts[old] == 0) _counts.Remove(old);
        }
        _window.Enqueue(token);
    }
}

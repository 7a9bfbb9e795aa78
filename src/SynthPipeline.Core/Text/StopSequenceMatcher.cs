namespace SynthPipeline.Core.Text;

/// <summary>
/// Streams generated text while watching for stop sequences. Text that could still turn into a stop sequence is
/// held back, so a stop sequence is never emitted, even when it arrives split across several tokens.
/// Generation stops at the stop sequence that is completed first (ties: the one that starts first), which is the
/// only rule a stream can follow and makes the result independent of how the text was split into tokens.
/// </summary>
public sealed class StopSequenceMatcher
{
    private readonly string[] _stops;
    private string _pending = string.Empty;

    public StopSequenceMatcher(IEnumerable<string>? stopSequences)
    {
        _stops = (stopSequences ?? []).Where(s => !string.IsNullOrEmpty(s)).Distinct(StringComparer.Ordinal).ToArray();
    }

    /// <summary>True once a stop sequence was seen; later input is ignored.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Adds generated text and returns the part that is now safe to emit.</summary>
    public string Append(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (Stopped) return string.Empty;
        if (_stops.Length == 0) return text;
        _pending += text;
        var (cutStart, cutEnd) = (-1, int.MaxValue);
        foreach (var stop in _stops)
        {
            var at = _pending.IndexOf(stop, StringComparison.Ordinal);
            if (at < 0) continue;
            var end = at + stop.Length;
            if (end < cutEnd || (end == cutEnd && at < cutStart)) (cutStart, cutEnd) = (at, end);
        }
        if (cutStart >= 0)
        {
            Stopped = true;
            var emit = _pending[..cutStart];
            _pending = string.Empty;
            return emit;
        }
        var hold = LongestSuffixThatStartsAStop();
        var ready = _pending[..^hold];
        _pending = _pending[^hold..];
        return ready;
    }

    /// <summary>Returns held-back text at the end of generation (it did not become a stop sequence).</summary>
    public string Flush()
    {
        var rest = Stopped ? string.Empty : _pending;
        _pending = string.Empty;
        return rest;
    }

    private int LongestSuffixThatStartsAStop()
    {
        var best = 0;
        foreach (var stop in _stops)
        {
            for (var len = Math.Min(stop.Length - 1, _pending.Length); len > best; len--)
            {
                if (_pending.AsSpan(_pending.Length - len).SequenceEqual(stop.AsSpan(0, len)))
                {
                    best = len;
                    break;
                }
            }
        }
        return best;
    }
}

using System.Text.RegularExpressions;

namespace SynthPipeline.Core.Corpus;

/// <summary>
/// Cuts a cleaned document into chunks of at most <c>maxTokens</c> teacher tokens, at paragraph and sentence
/// boundaries where possible, each chunk starting with about <c>overlapTokens</c> tokens of the one before it.
/// Token counts come from the teacher's own tokenizer, so a chunk always fits the prompt budget it was cut for.
/// </summary>
public static partial class TextChunker
{
    // A sentence or paragraph ends after . ! ? or a line break, together with the whitespace that follows.
    [GeneratedRegex(@"(?<=[.!?…])[""'”’)\]]*\s+|\n\s*", RegexOptions.CultureInvariant)]
    private static partial Regex SegmentEnd();

    [GeneratedRegex(@"\S+\s*", RegexOptions.CultureInvariant)]
    private static partial Regex Word();

    /// <param name="text">The cleaned document.</param>
    /// <param name="countTokens">The teacher's token count of a piece of text (no special tokens).</param>
    /// <param name="maxTokens">Largest chunk, in tokens.</param>
    /// <param name="overlapTokens">Tokens of the previous chunk repeated at the start of the next; less than <paramref name="maxTokens"/>.</param>
    public static IReadOnlyList<TextChunk> Chunk(string text, Func<string, int> countTokens, int maxTokens, int overlapTokens)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(countTokens);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTokens, 8);
        ArgumentOutOfRangeException.ThrowIfNegative(overlapTokens);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(overlapTokens, maxTokens);

        var segments = Segments(text, countTokens, maxTokens);
        var chunks = new List<TextChunk>();
        var first = 0;
        while (first < segments.Count)
        {
            var last = first;
            var tokens = segments[first].Tokens;
            while (last + 1 < segments.Count && tokens + segments[last + 1].Tokens <= maxTokens)
                tokens += segments[++last].Tokens;
            var chunk = Make(text, chunks.Count, segments[first].Start, segments[last].End, countTokens);
            // Summed segment counts can differ from the count of the joined text; the joined count decides.
            while (chunk.Tokens > maxTokens && last > first)
                chunk = Make(text, chunks.Count, segments[first].Start, segments[--last].End, countTokens);
            if (chunk.Text.Length > 0) chunks.Add(chunk);
            if (last + 1 >= segments.Count) break;
            // Step back over whole segments worth at most overlapTokens, but always move forward.
            var next = last + 1;
            var overlap = 0;
            while (next - 1 > first && overlap + segments[next - 1].Tokens <= overlapTokens)
                overlap += segments[--next].Tokens;
            first = next;
        }
        return chunks;
    }

    private static TextChunk Make(string text, int index, int start, int end, Func<string, int> countTokens)
    {
        while (start < end && char.IsWhiteSpace(text[start])) start++;
        while (end > start && char.IsWhiteSpace(text[end - 1])) end--;
        var slice = text[start..end];
        return new TextChunk(index, start, end, slice, slice.Length == 0 ? 0 : countTokens(slice));
    }

    private readonly record struct Segment(int Start, int End, int Tokens);

    private static List<Segment> Segments(string text, Func<string, int> countTokens, int maxTokens)
    {
        var segments = new List<Segment>();
        var start = 0;
        foreach (Match end in SegmentEnd().Matches(text))
        {
            Add(start, end.Index + end.Length);
            start = end.Index + end.Length;
        }
        Add(start, text.Length);
        return segments;

        void Add(int from, int to)
        {
            if (to <= from || string.IsNullOrWhiteSpace(text[from..to])) return;
            var tokens = countTokens(text[from..to]);
            if (tokens <= maxTokens) { segments.Add(new Segment(from, to, tokens)); return; }
            // A sentence longer than a chunk: split it between words, and a word longer than a chunk between characters.
            var pieceStart = from;
            var pieceTokens = 0;
            var pieceEnd = from;
            foreach (Match w in Word().Matches(text[from..to]))
            {
                var wordStart = from + w.Index;
                var wordEnd = wordStart + w.Length;
                var wordTokens = countTokens(w.Value);
                if (wordTokens > maxTokens)
                {
                    Flush();
                    SplitCharacters(wordStart, wordEnd);
                    pieceStart = pieceEnd = wordEnd;
                    continue;
                }
                if (pieceTokens + wordTokens > maxTokens) Flush();
                if (pieceTokens == 0) pieceStart = wordStart;
                pieceTokens += wordTokens;
                pieceEnd = wordEnd;
            }
            Flush();

            void Flush()
            {
                if (pieceEnd > pieceStart && pieceTokens > 0) segments.Add(new Segment(pieceStart, pieceEnd, pieceTokens));
                pieceTokens = 0;
                pieceStart = pieceEnd;
            }
        }

        void SplitCharacters(int from, int to)
        {
            while (from < to)
            {
                // Largest prefix within the budget, by halving: a run of characters with no word break is rare.
                var length = to - from;
                while (length > 1 && countTokens(text.Substring(from, length)) > maxTokens) length = Math.Max(1, length / 2);
                if (char.IsHighSurrogate(text[from + length - 1]) && from + length < to) length++;
                segments.Add(new Segment(from, from + length, countTokens(text.Substring(from, length))));
                from += length;
            }
        }
    }
}

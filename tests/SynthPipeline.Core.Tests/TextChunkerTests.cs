using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SynthPipeline.Core.Corpus;

namespace SynthPipeline.Core.Tests;

public sealed class TextChunkerTests
{
    // A stand-in tokenizer: one token per word plus one per punctuation mark, so counts are easy to reason about.
    private static int Count(string s) =>
        s.Split((char[])[' ', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries).Length + s.Count(c => c is '.' or ',' or '?' or '!');

    private static readonly string[] Words = ["tide", "moon", "the", "ocean", "pulls", "water", "twice", "a", "day", "gravity", "earth", "bulge"];

    private static readonly Gen<string> Document =
        from paragraphs in Gen.Choose(1, 6)
        from sentences in Gen.ArrayOf(Gen.Choose(1, 8), paragraphs)
        from seed in Gen.Choose(0, 10_000)
        select Build(sentences, seed);

    private static string Build(int[] sentences, int seed)
    {
        var rng = new Random(seed);
        return string.Join("\n\n", sentences.Select(n => string.Join(" ", Enumerable.Range(0, n).Select(_ =>
            string.Join(" ", Enumerable.Range(0, rng.Next(1, 40)).Select(_ => Words[rng.Next(Words.Length)])) + (rng.Next(4) == 0 ? "?" : ".")))));
    }

    public static Arbitrary<(string Text, int Max, int Overlap)> Cases() =>
        (from text in Document
         from max in Gen.Choose(8, 80)
         from overlap in Gen.Choose(0, max - 1)
         select (text, max, overlap)).ToArbitrary();

    [Property(Arbitrary = [typeof(TextChunkerTests)], MaxTest = 200)]
    public void Chunk_AnyDocument_SpansAreExactWithinBudgetOrderedAndCoverEveryWord((string Text, int Max, int Overlap) c)
    {
        var chunks = TextChunker.Chunk(c.Text, Count, c.Max, c.Overlap);
        var covered = new bool[c.Text.Length];
        for (var i = 0; i < chunks.Count; i++)
        {
            var k = chunks[i];
            Assert.Equal(i, k.Index);
            Assert.Equal(c.Text[k.Start..k.End], k.Text);
            Assert.True(k.Tokens <= c.Max, $"chunk {i} has {k.Tokens} tokens > {c.Max}");
            Assert.Equal(Count(k.Text), k.Tokens);
            if (i > 0) Assert.True(k.Start > chunks[i - 1].Start, "chunks must move forward");
            for (var j = k.Start; j < k.End; j++) covered[j] = true;
        }
        for (var j = 0; j < c.Text.Length; j++)
            Assert.True(covered[j] || char.IsWhiteSpace(c.Text[j]), $"character {j} ('{c.Text[j]}') is in no chunk");
    }

    [Fact]
    public void Chunk_Overlap_NextChunkRepeatsTheLastSentencesThatFit()
    {
        const string text = "One two three. Four five six. Seven eight nine. Ten eleven twelve.";
        // Each sentence is 4 tokens (3 words + the full stop); chunks of 8 hold two sentences.
        var chunks = TextChunker.Chunk(text, Count, maxTokens: 8, overlapTokens: 4);
        Assert.Equal(["One two three. Four five six.", "Four five six. Seven eight nine.", "Seven eight nine. Ten eleven twelve."], chunks.Select(k => k.Text));
        var noOverlap = TextChunker.Chunk(text, Count, maxTokens: 8, overlapTokens: 0);
        Assert.Equal(["One two three. Four five six.", "Seven eight nine. Ten eleven twelve."], noOverlap.Select(k => k.Text));
    }

    [Fact]
    public void Chunk_SentenceLongerThanAChunk_IsSplitBetweenWords()
    {
        var text = string.Join(' ', Enumerable.Range(0, 25).Select(i => $"w{i}")) + ".";
        var chunks = TextChunker.Chunk(text, Count, maxTokens: 10, overlapTokens: 0);
        Assert.All(chunks, k => Assert.True(k.Tokens <= 10));
        Assert.Equal(text, string.Join(' ', chunks.Select(k => k.Text)));
    }

    [Fact]
    public void Chunk_WordLongerThanAChunk_IsSplitBetweenCharacters()
    {
        var text = new string('x', 100);
        // One token per 4 characters.
        var chunks = TextChunker.Chunk(text, s => (s.Length + 3) / 4, maxTokens: 8, overlapTokens: 0);
        Assert.All(chunks, k => Assert.True(k.Tokens <= 8));
        Assert.Equal(text, string.Concat(chunks.Select(k => k.Text)));
    }
}

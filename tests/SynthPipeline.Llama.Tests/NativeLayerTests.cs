using Microsoft.Extensions.Logging;
using SynthPipeline.Llama.Gguf;
using SynthPipeline.Llama.Native;
using SynthPipeline.Llama.Teacher;

namespace SynthPipeline.Llama.Tests;

[Collection(DemoModelCollection.Name)]
public sealed class NativeLayerTests(DemoModelFixture fixture)
{
    private static float[] LastLogits(LlamaContext context, IReadOnlyList<int> tokens, int sequence = 0)
    {
        using var batch = new LlamaBatch(tokens.Count);
        for (var i = 0; i < tokens.Count; i++) batch.Add(tokens[i], i, sequence, i == tokens.Count - 1);
        Assert.Equal(DecodeStatus.Ok, context.Decode(batch));
        return context.Logits(tokens.Count - 1).ToArray();
    }

    private static string WriteAdapter(string dir, int rank, int inFeatures = DemoModel.EmbeddingLength)
    {
        var rng = new Random(42);
        float[] R(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var path = Path.Combine(dir, $"lora-r{rank}-in{inFeatures}.gguf");
        var w = new GgufWriter()
            .Add("general.architecture", GgufValue.Of("llama"))
            .Add("general.type", GgufValue.Of("adapter"))
            .Add("adapter.type", GgufValue.Of("lora"))
            .Add("adapter.lora.alpha", GgufValue.Of((float)rank));
        for (var layer = 0; layer < DemoModel.BlockCount; layer++)
        {
            // A weight with ggml shape [in, out] takes lora_a [in, r] and lora_b [r, out].
            w.AddTensor($"blk.{layer}.attn_q.weight.lora_a", [(ulong)inFeatures, (ulong)rank], R(inFeatures * rank));
            w.AddTensor($"blk.{layer}.attn_q.weight.lora_b", [(ulong)rank, DemoModel.EmbeddingLength], R(rank * DemoModel.EmbeddingLength));
        }
        w.WriteTo(path);
        return path;
    }

    [Fact]
    public void SetLoraAdapters_ApplyThenRemove_ChangesLogitsThenRestoresThemExactly()
    {
        var dir = TestPaths.TempDirectory("lora");
        using var adapter = LlamaLoraAdapter.Load(fixture.Model, WriteAdapter(dir, rank: 4));
        Assert.Equal("4", adapter.Metadata("adapter.lora.alpha")?.Split('.')[0]);
        using var context = LlamaContext.Create(fixture.Model, new LlamaContextOptions { ContextSize = 256, Threads = 2 });
        var prompt = fixture.Model.Vocab.Tokenize("Classify the sentence.");

        var baseline = LastLogits(context, prompt);
        context.ClearMemory();
        context.SetLoraAdapters([(adapter, 1f)]);
        var adapted = LastLogits(context, prompt);
        context.ClearMemory();
        context.SetLoraAdapters([]);
        var restored = LastLogits(context, prompt);

        Assert.True(baseline.Zip(adapted).Max(p => Math.Abs(p.First - p.Second)) > 1e-2, "the adapter did not change the logits");
        Assert.Equal(baseline, restored);
    }

    [Fact]
    public void LoadLora_ShapeOfAnotherModel_RejectedWithLlamaCppsReason()
    {
        var dir = TestPaths.TempDirectory("lora-bad");
        var e = Assert.Throws<LlamaModelException>(() => LlamaLoraAdapter.Load(fixture.Model, WriteAdapter(dir, rank: 4, inFeatures: 32)));
        Assert.Contains("incorrect shape", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Dispose_ModelBeforeItsContext_ContextKeepsWorkingUntilDisposed()
    {
        var model = LlamaModel.Load(fixture.ModelPath, new LlamaModelLoadOptions { GpuLayers = 0 });
        var context = LlamaContext.Create(model, new LlamaContextOptions { ContextSize = 256, Threads = 2 });
        var prompt = model.Vocab.Tokenize("Give three tips.");
        var before = LastLogits(context, prompt);

        model.Dispose();
        // The context's reference keeps the native model (its weights) alive: not released, and decoding still works.
        Assert.False(model.Handle.IsClosed);
        context.ClearMemory();
        var after = LastLogits(context, prompt);
        Assert.Equal(before, after);
        context.Dispose();
        Assert.True(context.Handle.IsClosed);
        Assert.True(model.Handle.IsClosed);
    }

    [Fact]
    public void CopySequence_SharedPrefix_GivesTheSameNextTokenLogitsWithoutRecomputing()
    {
        using var context = LlamaContext.Create(fixture.Model, new LlamaContextOptions { ContextSize = 512, SequenceCount = 2, Threads = 2 });
        var prefix = fixture.Model.Vocab.Tokenize("Instruction: list three words.");
        var own = LastLogits(context, prefix, sequence: 0);
        context.CopySequence(0, 1);
        Assert.Equal(context.SequenceMaxPosition(0), context.SequenceMaxPosition(1));

        using var batch = new LlamaBatch(2);
        batch.Add(10, prefix.Length, 0, true);
        batch.Add(10, prefix.Length, 1, true);
        Assert.Equal(DecodeStatus.Ok, context.Decode(batch));
        Assert.Equal(context.Logits(0).ToArray(), context.Logits(1).ToArray());
        Assert.NotEqual(own, context.Logits(0).ToArray());

        Assert.True(context.RemoveSequence(1));
        Assert.Equal(-1, context.SequenceMaxPosition(1));
        Assert.Equal(prefix.Length, context.SequenceMaxPosition(0));
    }

    [Fact]
    public void Load_WithProgress_ReportsUpToOneAndCancellationAborts()
    {
        var reported = new List<float>();
        using (LlamaModel.Load(fixture.ModelPath, new LlamaModelLoadOptions { GpuLayers = 0 }, new SyncProgress(reported.Add))) { }
        Assert.NotEmpty(reported);
        Assert.Equal(1f, reported[^1]);

        using var cts = new CancellationTokenSource();
        var progress = new SyncProgress(_ => cts.Cancel());
        Assert.ThrowsAny<OperationCanceledException>(() => LlamaModel.Load(fixture.ModelPath, new LlamaModelLoadOptions { GpuLayers = 0 }, progress, cts.Token));
    }

    [Fact]
    public void NativeLog_LoggerEnabled_ReceivesLlamaCppLines()
    {
        var logger = CaptureNativeLog(() =>
        {
            using (LlamaModel.Load(fixture.ModelPath, new LlamaModelLoadOptions { GpuLayers = 0 })) { }
        });
        Assert.Contains(logger.Lines, l => l.Contains("llama.cpp: ", StringComparison.Ordinal) && l.Contains("llama", StringComparison.Ordinal));
    }

    [Fact]
    public void Decode_Aborted_ReportsAbortedAndLogsLlamaCppsFailureBelowError()
    {
        var logger = CaptureNativeLog(() =>
        {
            using var context = LlamaContext.Create(fixture.Model, new LlamaContextOptions { ContextSize = 256, Threads = 2 });
            using var stop = new CancellationTokenSource();
            stop.Cancel();
            using var abort = context.AbortOn(stop.Token);
            var prompt = fixture.Model.Vocab.Tokenize("stopped before it starts");
            using var batch = new LlamaBatch(64);
            for (var i = 0; i < prompt.Length; i++) batch.Add(prompt[i], i, 0, i == prompt.Length - 1);
            Assert.Equal(DecodeStatus.Aborted, context.Decode(batch));
        });
        // llama.cpp reports the abort as a failed compute; after Ctrl+C that is expected, so not an error on the console.
        Assert.Contains(logger.Entries, e => e.Level == LogLevel.Debug && e.Line.Contains("fail", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(logger.Entries, e => e.Level >= LogLevel.Error);
    }

    [Fact]
    public void Create_OnTheCpuBackend_AttachesAPersistentThreadpoolThatOutlivesNothing()
    {
        var context = LlamaContext.Create(fixture.Model, new LlamaContextOptions { ContextSize = 256, Threads = 2 });
        Assert.True(context.HasPersistentThreadpool);
        var prompt = fixture.Model.Vocab.Tokenize("threads");
        Assert.NotEmpty(LastLogits(context, prompt));
        context.Dispose();
        Assert.True(context.Handle.IsClosed);
    }

    [Fact]
    public void Sampler_GreedyChain_PicksTheArgmaxOfTheLogits()
    {
        using var context = LlamaContext.Create(fixture.Model, new LlamaContextOptions { ContextSize = 256, Threads = 2 });
        var prompt = fixture.Model.Vocab.Tokenize("Which word?");
        var logits = LastLogits(context, prompt);
        using var sampler = LlamaSampler.Create(fixture.Model, SamplingSettings.Greedy);
        Assert.Equal(Array.IndexOf(logits, logits.Max()), sampler.Sample(context, prompt.Length - 1));
    }

    [Fact]
    public void Sampler_AllKnobs_BuildsTheFullChainAndRejectsBadValues()
    {
        using var full = LlamaSampler.Create(fixture.Model, new SamplingSettings
        {
            Temperature = 0.7f, TopK = 20, TopP = 0.9f, MinP = 0.1f, RepeatPenalty = 1.1f, PresencePenalty = 0.2f, FrequencyPenalty = 0.1f,
            Seed = 9, Grammar = JsonGrammars.YesNo,
        });
        Assert.Equal(7, full.Count);
        var e = Assert.Throws<SynthPipeline.Core.UserErrorException>(() => LlamaSampler.Create(fixture.Model, new SamplingSettings { TopP = 0 }));
        Assert.Contains("TopP", e.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Greedy decoding under <paramref name="grammar"/>, each step's token from <paramref name="pick"/>; the context is
    /// fed the chosen tokens, so both samplers of a comparison see the same logits as long as they agree.
    /// </summary>
    private List<int> Decode(string grammar, Func<LlamaContext, int, int> pick, int steps)
    {
        using var context = LlamaContext.Create(fixture.Model, new LlamaContextOptions { ContextSize = 256, Threads = 2 });
        var tokens = fixture.Model.Vocab.Tokenize("Answer with a word:").ToList();
        using var batch = new LlamaBatch(tokens.Count);
        for (var i = 0; i < tokens.Count; i++) batch.Add(tokens[i], i, 0, i == tokens.Count - 1);
        Assert.Equal(DecodeStatus.Ok, context.Decode(batch));
        var index = tokens.Count - 1;
        var produced = new List<int>();
        for (var step = 0; step < steps; step++)
        {
            var token = pick(context, index);
            if (fixture.Model.Vocab.IsEndOfGeneration(token)) break;
            produced.Add(token);
            batch.Clear();
            batch.Add(token, tokens.Count + step, 0, true);
            Assert.Equal(DecodeStatus.Ok, context.Decode(batch));
            index = 0;
        }
        return produced;
    }

    [Theory]
    [InlineData("root ::= [^<]+", 40)] // allows almost every token: the unconstrained choice nearly always stands
    [InlineData("root ::= (\"yes\" | \"no\") \" \" [0-9]+", 12)] // refuses most tokens: most steps resample
    public void Sample_GrammarFirst_GivesTheTokensOfTheGrammarAppliedToEveryToken(string grammar, int steps)
    {
        using var first = LlamaSampler.Create(fixture.Model, new SamplingSettings { Temperature = 0, Grammar = grammar });
        var grammarFirst = Decode(grammar, (c, i) => first.Sample(c, i), steps);

        // The old way: the grammar inside the chain, applied to the whole vocabulary for every token.
        using var chain = LLama.Native.SafeLLamaSamplerChainHandle.Create(LLama.Native.LLamaSamplerChainParams.Default());
        var native = NativeMethods.LlamaSamplerInitGrammar(fixture.Model.Vocab.Pointer, grammar, "root");
        Assert.NotEqual(0, native);
        NativeMethods.LlamaSamplerChainAdd(chain, native);
        chain.AddGreedySampler();
        var everyToken = Decode(grammar, (c, i) => (int)chain.Sample(c.Handle, i), steps);

        Assert.Equal(everyToken, grammarFirst);
        Assert.NotEmpty(grammarFirst);
        var text = fixture.Model.Vocab.Detokenize([.. grammarFirst]);
        if (grammar.Contains("yes", StringComparison.Ordinal)) Assert.Matches("^(yes|no) [0-9]*$", text);
        else Assert.DoesNotContain("<", text, StringComparison.Ordinal);
        // The strict grammar refuses the model's own choice at least once; the permissive one almost never.
        if (grammar.Contains("yes", StringComparison.Ordinal)) Assert.True(first.GrammarResamples > 0);
        else Assert.True(first.GrammarResamples < grammarFirst.Count / 2, $"{first.GrammarResamples} resamples in {grammarFirst.Count} tokens");
    }

    [Theory]
    [InlineData(40, 0.95f, 0.05f, 0.8f)] // the pipeline's and llama-batched-bench comparisons' sampling
    [InlineData(5, 1f, 0f, 1.5f)] // a hot draw among few candidates
    [InlineData(128, 0.9f, 0f, 1f)] // the largest top-k run over candidates
    [InlineData(40, 0.95f, 0.05f, 0f)] // greedy: one candidate
    public void Sample_TopCandidates_DrawsTheTokensOfTheChainOverTheWholeVocabulary(int topK, float topP, float minP, float temperature)
    {
        for (uint seed = 1; seed <= 4; seed++)
        {
            var settings = new SamplingSettings { TopK = topK, TopP = topP, MinP = minP, Temperature = temperature, Seed = seed };
            using var top = LlamaSampler.Create(fixture.Model, settings, topCandidates: true);
            using var whole = LlamaSampler.Create(fixture.Model, settings, topCandidates: false);
            Assert.Equal(temperature == 0 ? 1 : topK, top.TopCandidateCount);
            Assert.Equal(0, whole.TopCandidateCount);
            var drawn = Decode("", (c, i) =>
            {
                var expected = whole.Sample(c, i);
                Assert.Equal(expected, top.Sample(c, i));
                return expected;
            }, 48);
            Assert.True(drawn.Count >= 8, $"only {drawn.Count} tokens before end of generation");
        }
    }

    [Fact]
    public void Create_SmallVocabularyLeftToDecide_KeepsLlamaCppsPath()
    {
        // A vocabulary as small as the demo model's keeps llama.cpp's path, which costs the same there.
        Assert.True(fixture.Model.Vocab.TokenCount < TopCandidates.MinVocabulary);
        using var auto = LlamaSampler.Create(fixture.Model, new SamplingSettings { PresencePenalty = 1, TopK = 0 });
        Assert.Equal(0, auto.TopCandidateCount);
    }

    /// <summary>
    /// Whether <paramref name="grammar"/>, fed <paramref name="accepted"/> one character token at a time, lets the
    /// character <paramref name="next"/> follow. Each token is checked before it is accepted: llama.cpp aborts the
    /// process when a grammar is made to accept a token it refuses.
    /// </summary>
    private bool GrammarAllows(string grammar, string accepted, char next)
    {
        var vocab = fixture.Model.Vocab;
        var byPiece = new Dictionary<string, int>();
        for (var t = 0; t < vocab.TokenCount; t++) byPiece.TryAdd(System.Text.Encoding.UTF8.GetString(vocab.TokenBytes(t)), t);
        using var chain = LLama.Native.SafeLLamaSamplerChainHandle.Create(LLama.Native.LLamaSamplerChainParams.Default());
        var native = NativeMethods.LlamaSamplerInitGrammar(vocab.Pointer, grammar, "root");
        Assert.NotEqual(0, native);
        NativeMethods.LlamaSamplerChainAdd(chain, native);
        bool Allows(int token)
        {
            var one = new[] { new LLama.Native.LLamaTokenData(token, 1, 0) };
            using (LLama.Native.LLamaTokenDataArrayNative.Create(new LLama.Native.LLamaTokenDataArray(one), out var array)) chain.Apply(ref array);
            return !float.IsNegativeInfinity(one[0].Logit);
        }
        foreach (var c in accepted)
        {
            var token = byPiece[c.ToString()];
            Assert.True(Allows(token), $"the grammar refuses '{c}' after the text before it in '{accepted}'");
            chain.Accept(token);
        }
        return Allows(byPiece[next.ToString()]);
    }

    [Theory]
    [InlineData("{\"a\":0", '4', false)] // 04 is not JSON
    [InlineData("{\"a\":-0", '4', false)]
    [InlineData("{\"a\":0", '.', true)]
    [InlineData("{\"a\":0", '}', true)]
    [InlineData("{\"a\":1", '0', true)]
    [InlineData("{\"a\":0.", '0', true)] // a fraction may start with zeros
    public void JsonObjectGrammar_Numbers_AreJsonNumbers(string accepted, char next, bool allowed) =>
        Assert.Equal(allowed, GrammarAllows(JsonGrammars.BoundedObject, accepted, next));

    private sealed class SyncProgress(Action<float> report) : IProgress<float>
    {
        public void Report(float value) => report(value);
    }

    /// <summary>What llama.cpp logs while <paramref name="action"/> runs, through a logger put in place for it.</summary>
    private static ListLogger CaptureNativeLog(Action action)
    {
        var logger = new ListLogger();
        var previous = NativeLog.Logger;
        NativeLog.Logger = logger;
        try
        {
            action();
        }
        finally
        {
            NativeLog.Logger = previous;
        }
        return logger;
    }

    private sealed class ListLogger : ILogger
    {
        public List<(LogLevel Level, string Line)> Entries { get; } = [];

        public IEnumerable<string> Lines => Entries.Select(e => e.Line);

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Entries) Entries.Add((logLevel, formatter(state, exception)));
        }
    }
}

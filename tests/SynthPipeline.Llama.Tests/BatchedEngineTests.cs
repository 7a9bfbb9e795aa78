using SynthPipeline.Llama.Engine;
using SynthPipeline.Llama.Teacher;

namespace SynthPipeline.Llama.Tests;

[Collection(DemoModelCollection.Name)]
public sealed class BatchedEngineTests(DemoModelFixture fixture)
{
    private static readonly SamplingSettings Sampled = new() { Temperature = 0.8f, TopP = 0.95f, TopK = 0, MinP = 0, Seed = 1234 };

    // CPU flash attention rounds Q·K through f16, which turns the last-bit differences between batch shapes
    // (llama.cpp's gemv for one row, tiled gemm for several) into flipped argmaxes about once per 600 tokens here.
    // Without it 60 prompts × 48 tokens matched exactly, so these tests pin it off; the engine itself is shape-agnostic.
    private BatchedEngine NewEngine(int parallel = 8, int contextPerSequence = 512, bool prefixSharing = true, bool backendSampling = true, int prefillBudget = 0,
        bool overlapText = true, bool topCandidates = true, int parallelSamplingMinVocabulary = TopCandidates.MinVocabulary, bool topKInGraph = false,
        int prefixCacheSlots = 0) =>
        new(fixture.Model, new EngineOptions
        {
            ParallelSequences = parallel,
            ContextPerSequence = contextPerSequence,
            BatchSize = 256,
            MicroBatchSize = 256,
            Threads = 2,
            PrefixSharing = prefixSharing,
            BackendSampling = backendSampling,
            FlashAttention = false,
            PrefillBudget = prefillBudget,
            OverlapText = overlapText,
            TopCandidates = topCandidates,
            ParallelSamplingMinVocabulary = parallelSamplingMinVocabulary,
            TopKInGraph = topKInGraph,
            PrefixCacheSlots = prefixCacheSlots,
        });

    [Fact]
    public async Task Metrics_CountTheDrawsTheBoundedCandidatesCouldNotSettle()
    {
        using var engine = NewEngine(parallel: 2, backendSampling: false);
        var prompt = DistinctPrompts(1)[0];
        // Greedy is settled by the best candidate; top-p 0.999 without top-k needs more of the demo model's mass than
        // its 64 best tokens hold, so each of those draws goes over the whole vocabulary.
        await engine.GenerateAsync(Request(prompt, SamplingSettings.Greedy, 10));
        Assert.Equal(0, engine.Metrics().WholeVocabularyDraws);
        await engine.GenerateAsync(Request(prompt, Sampled with { TopP = 0.999f }, 10));
        Assert.Equal(10, engine.Metrics().WholeVocabularyDraws);
    }

    private int[] Tokens(string text) => [.. fixture.Model.Vocab.Tokenize(text, addSpecial: true, parseSpecial: true)];

    private static GenerationRequest Request(int[] prompt, SamplingSettings sampling, int maxTokens = 24) =>
        new(prompt, sampling, maxTokens, []) { IgnoreEndOfGeneration = true };

    private List<int[]> DistinctPrompts(int n) =>
        Enumerable.Range(0, n).Select(i => Tokens($"<|im_start|>user\nTask {i}: {new string((char)('a' + i % 26), 1 + i % 7)} then {i * 37 % 101}<|im_end|>\n<|im_start|>assistant\n")).ToList();

    private List<int> Alone(int[] prompt, SamplingSettings sampling, int maxTokens = 24)
    {
        using var context = LlamaContext.Create(fixture.Model, new LlamaContextOptions { ContextSize = 512, Threads = 2, FlashAttention = false });
        using var generator = new SequentialGenerator(context);
        return [.. generator.Generate(Request(prompt, sampling, maxTokens), null, CancellationToken.None).Tokens];
    }

    /// <summary>ln softmax of the model's logits after <paramref name="tokens"/>, decoded alone and summed in double precision.</summary>
    private double[] LogSoftmaxAfter(IReadOnlyList<int> tokens)
    {
        using var context = LlamaContext.Create(fixture.Model, new LlamaContextOptions { ContextSize = 512, Threads = 2, FlashAttention = false });
        using var batch = new LlamaBatch(512);
        for (var i = 0; i < tokens.Count; i++) batch.Add(tokens[i], i, 0, wantLogits: i == tokens.Count - 1);
        Assert.Equal(DecodeStatus.Ok, context.Decode(batch));
        var logits = context.Logits(tokens.Count - 1).ToArray();
        var max = logits.Max();
        var logZ = max + Math.Log(logits.Sum(l => Math.Exp(l - max)));
        return [.. logits.Select(l => l - logZ)];
    }

    [Fact]
    public async Task GenerateAsync_TopLogprobs_AreTheLogSoftmaxOfTheModelsLogitsAtEveryToken_AndLeaveTheGraph()
    {
        // In-graph sampling is on: the requests that ask for log-probabilities must sample on the CPU to read the logits.
        using var engine = NewEngine(parallel: 3, backendSampling: true);
        var prompts = DistinctPrompts(3);
        var sampled = engine.GenerateAsync(Request(prompts[0], Sampled, 6) with { TopLogprobs = 5 });
        var greedy = engine.GenerateAsync(Request(prompts[1], SamplingSettings.Greedy, 6) with { TopLogprobs = 0 });
        var plain = engine.GenerateAsync(Request(prompts[2], Sampled, 6));
        await Task.WhenAll(sampled, greedy, plain);

        Assert.Null((await plain).Logprobs);
        Assert.Equal((await plain).Tokens.Count, engine.Metrics().BackendSampledTokens);
        foreach (var (prompt, result, top, isGreedy) in new[] { (prompts[0], await sampled, 5, false), (prompts[1], await greedy, 0, true) })
        {
            Assert.Equal(result.Tokens.Count, result.Logprobs!.Count);
            for (var j = 0; j < result.Tokens.Count; j++)
            {
                var reference = LogSoftmaxAfter([.. prompt, .. result.Tokens.Take(j)]);
                var entry = result.Logprobs[j];
                Assert.Equal(result.Tokens[j], entry.Chosen.Token);
                Assert.Equal(reference[entry.Chosen.Token], entry.Chosen.Logprob, 0.001);
                Assert.Equal(fixture.Model.Vocab.TokenBytes(entry.Chosen.Token, special: true), entry.Chosen.Bytes);
                var best = Enumerable.Range(0, reference.Length).OrderByDescending(t => reference[t]).Take(top).ToArray();
                Assert.Equal(best, entry.Top.Select(a => a.Token));
                foreach (var alternative in entry.Top) Assert.Equal(reference[alternative.Token], alternative.Logprob, 0.001);
                // Greedy picks the most likely token, so its log-probability is the row's highest.
                if (isGreedy) Assert.Equal(reference.Max(), entry.Chosen.Logprob, 0.001);
            }
        }
        await Assert.ThrowsAsync<ArgumentException>(() => engine.GenerateAsync(Request(prompts[0], Sampled, 2) with { TopLogprobs = 21 }));
    }

    [Fact]
    public async Task GenerateAsync_GreedyDistinctPromptsTogether_MatchDecodingEachAloneTokenForToken()
    {
        var prompts = DistinctPrompts(12);
        var alone = prompts.Select(p => Alone(p, SamplingSettings.Greedy)).ToList();

        using var engine = NewEngine(parallel: 8);
        var together = await Task.WhenAll(prompts.Select(p => engine.GenerateAsync(Request(p, SamplingSettings.Greedy))));

        for (var i = 0; i < prompts.Count; i++) Assert.Equal(alone[i], together[i].Tokens);
        Assert.True(engine.Metrics().Decodes < prompts.Count * 24, "sequences were not decoded together");
    }

    [Fact]
    public async Task GenerateAsync_PrefillBudget_SpreadsPromptsOverStepsAndChangesNoToken()
    {
        var prompts = DistinctPrompts(6);
        var alone = prompts.Select(p => Alone(p, SamplingSettings.Greedy)).ToList();
        var promptTokens = prompts.Sum(p => p.Length);

        using var engine = NewEngine(parallel: 6, prefixSharing: false, prefillBudget: 4);
        var together = await Task.WhenAll(prompts.Select(p => engine.GenerateAsync(Request(p, SamplingSettings.Greedy))));

        for (var i = 0; i < prompts.Count; i++) Assert.Equal(alone[i], together[i].Tokens);
        // At most 4 prompt tokens a step: the prompts alone need this many decodes (the batch would hold them all at once).
        Assert.True(engine.Metrics().Decodes >= promptTokens / 4, $"{engine.Metrics().Decodes} decodes for {promptTokens} prompt tokens at 4 per step");
        Assert.Throws<SynthPipeline.Core.UserErrorException>(() => new EngineOptions { PrefillBudget = -1 }.Validate());
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, false)]
    [InlineData(false, true)]
    public async Task GenerateAsync_SeededSampledRequest_SameOutputWhateverSharesTheBatch(bool backendSampling, bool samplingOnThreads)
    {
        var prompts = DistinctPrompts(9);
        var probe = prompts[0];
        using var engine = NewEngine(parallel: 8, backendSampling: backendSampling, parallelSamplingMinVocabulary: samplingOnThreads ? 0 : TopCandidates.MinVocabulary);
        var alone = await engine.GenerateAsync(Request(probe, Sampled, 32));

        var others = prompts.Skip(1).Select((p, i) => engine.GenerateAsync(Request(p, Sampled with { Seed = (uint)(99 + i) }, 8 + i * 5))).ToList();
        var shared = engine.GenerateAsync(Request(probe, Sampled, 32));
        await Task.WhenAll(others);

        Assert.Equal(alone.Tokens, (await shared).Tokens);
        Assert.Equal(alone.Tokens, Alone(probe, Sampled, 32));
        var backend = engine.Metrics().BackendSampledTokens;
        if (backendSampling) Assert.True(backend > 0, "no token was sampled in the graph");
        else Assert.Equal(0, backend);
        // The demo vocabulary is below the size for which sampling goes to threads, unless the test lowers it.
        if (samplingOnThreads) Assert.True(engine.StepsSampledOnThreads > 0, "no step sampled on threads");
        else Assert.Equal(0, engine.StepsSampledOnThreads);
    }

    [Fact]
    public async Task GenerateAsync_TopKInGraph_DrawsTheCpuChainsTokensFromTheCutAndLeavesPenalisedRequestsOnTheCpu()
    {
        // Three slots for eight requests, so slots change between cuts of 20, 1 (greedy) and 5, and none (penalties).
        var prompts = DistinctPrompts(8);
        var topK = Sampled with { TopK = 20, MinP = 0.05f };
        SamplingSettings For(int i) => (i % 4) switch
        {
            0 => topK with { Seed = (uint)(7 + i) },
            1 => SamplingSettings.Greedy,
            2 => topK with { TopK = 5, Seed = (uint)(7 + i) },
            _ => topK with { PresencePenalty = 1.5f, Seed = (uint)(7 + i) },
        };
        using var cpu = NewEngine(parallel: 3, backendSampling: false, topCandidates: false);
        using var cut = NewEngine(parallel: 3, backendSampling: false, topKInGraph: true);

        var expected = await Task.WhenAll(prompts.Select((p, i) => cpu.GenerateAsync(Request(p, For(i), 24))));
        var actual = await Task.WhenAll(prompts.Select((p, i) => cut.GenerateAsync(Request(p, For(i), 24))));

        for (var i = 0; i < prompts.Count; i++) Assert.Equal(expected[i].Tokens, actual[i].Tokens);
        // Every token of the six requests without penalties came from the graph's candidates, none of the others'.
        Assert.Equal(6 * 24, cut.Metrics().GraphCutDraws);
        Assert.Equal(0, cpu.Metrics().GraphCutDraws);
        Assert.Equal(0, cut.Metrics().BackendSampledTokens);

        // A k of the whole vocabulary or more is no cut: drawn on the CPU.
        var wide = topK with { TopK = 100_000 };
        Assert.Equal((await cpu.GenerateAsync(Request(prompts[0], wide, 8))).Tokens, (await cut.GenerateAsync(Request(prompts[0], wide, 8))).Tokens);
        Assert.Equal(6 * 24, cut.Metrics().GraphCutDraws);
        var both = Assert.Throws<SynthPipeline.Core.UserErrorException>(() => new EngineOptions { TopKInGraph = true, BackendSampling = true }.Validate());
        Assert.Contains("Teacher:Sampling", both.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GenerateAsync_TopKBeyondTheVocabularyWithInGraphSampling_SamplesOnTheCpuInsteadOfAborting()
    {
        // ggml's top-k asserts k <= the row's length, and an assert ends the process (a whole synth serve).
        using var engine = NewEngine(parallel: 2, backendSampling: true);
        var prompt = DistinctPrompts(1)[0];
        var wide = await engine.GenerateAsync(Request(prompt, Sampled with { TopK = 100_000 }, 8));
        Assert.Equal(8, wide.Tokens.Count);
        Assert.Equal(0, engine.Metrics().BackendSampledTokens);
        await engine.GenerateAsync(Request(prompt, Sampled with { TopK = 40 }, 8));
        Assert.Equal(8, engine.Metrics().BackendSampledTokens);
    }

    [Fact]
    public async Task GenerateAsync_OneOfManyCancelled_OthersOutputsUnchanged()
    {
        var prompts = DistinctPrompts(6);
        using var engine = NewEngine(parallel: 6);
        var reference = await Task.WhenAll(prompts.Select(p => engine.GenerateAsync(Request(p, Sampled, 40))));

        using var cancel = new CancellationTokenSource();
        var firstText = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var victim = engine.GenerateAsync(Request(prompts[2], Sampled, 4000), _ => firstText.TrySetResult(), cancel.Token);
        var rest = prompts.Select((p, i) => i == 2 ? null : engine.GenerateAsync(Request(p, Sampled, 40))).ToList();
        await firstText.Task;
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => victim);
        for (var i = 0; i < prompts.Count; i++)
            if (rest[i] is { } task) Assert.Equal(reference[i].Tokens, (await task).Tokens);
        Assert.Equal(0, engine.Metrics().ActiveSequences);
    }

    [Fact]
    public async Task GenerateAsync_200RequestsOnAContextTooSmallForAll_AllCompleteWithoutErrorOrDeadlock()
    {
        // 4 sequences × 128 tokens hold 512 tokens; the requests need about 200 × (prompt + 40) tokens.
        using var engine = NewEngine(parallel: 4, contextPerSequence: 128);
        var prompts = DistinctPrompts(200);
        var all = Task.WhenAll(prompts.Select((p, i) => engine.GenerateAsync(Request(p, Sampled with { Seed = (uint)i }, 40))));

        var results = await all;

        Assert.All(results, r => Assert.Equal(40, r.Tokens.Count));
        var m = engine.Metrics();
        Assert.Equal(200, m.Completed);
        Assert.Equal(0, m.Failed);
        Assert.Equal(0, m.QueueDepth);
    }

    [Fact]
    public async Task GenerateAsync_SharedPromptPrefix_SameOutputsWithFewerPromptTokensComputed()
    {
        var header = string.Concat(Enumerable.Repeat("You are a careful teacher. Continue the numbered list of tasks. ", 6));
        var prompts = Enumerable.Range(0, 10).Select(i => Tokens($"<|im_start|>system\n{header}<|im_end|>\n<|im_start|>user\nTask {i}<|im_end|>\n<|im_start|>assistant\n")).ToList();
        var headerLength = prompts[0].AsSpan().CommonPrefixLength(prompts[1]);
        Assert.True(headerLength > 100, $"the shared header is only {headerLength} tokens");

        async Task<(List<IReadOnlyList<int>> Tokens, EngineMetrics Metrics)> Run(bool sharing)
        {
            using var engine = NewEngine(parallel: 4, prefixSharing: sharing);
            var results = await Task.WhenAll(prompts.Select(p => engine.GenerateAsync(Request(p, SamplingSettings.Greedy, 16))));
            return (results.Select(r => r.Tokens).ToList(), engine.Metrics());
        }

        var without = await Run(false);
        var with = await Run(true);

        Assert.Equal(without.Tokens, with.Tokens);
        Assert.Equal(prompts.Sum(p => p.Length), without.Metrics.PromptTokensProcessed);
        Assert.Equal(0, without.Metrics.PromptTokensReused);
        // At most the first request of each slot computes the header; the rest share it.
        Assert.True(with.Metrics.PromptTokensProcessed <= without.Metrics.PromptTokensProcessed - 6 * headerLength,
            $"computed {with.Metrics.PromptTokensProcessed} of {without.Metrics.PromptTokensProcessed} prompt tokens");
        Assert.Equal(without.Metrics.PromptTokensProcessed, with.Metrics.PromptTokensProcessed + with.Metrics.PromptTokensReused);
    }

    [Fact]
    public async Task GenerateAsync_PrefixCacheSlots_KeepEachKindsHeaderCachedAtOneSequence_AndRunOneAtATime()
    {
        // Two kinds of request with their own long headers, alternating, as Self-Instruct's classification and example
        // prompts do: with one slot each kind evicts the other's header; with cache slots both stay cached.
        string Header(string role) => string.Concat(Enumerable.Repeat($"You are a careful {role}. Answer in the format shown. ", 6));
        var prompts = Enumerable.Range(0, 8).Select(i => Tokens(
            $"<|im_start|>system\n{Header(i % 2 == 0 ? "classifier" : "writer of examples")}<|im_end|>\n<|im_start|>user\nTask {i}<|im_end|>\n<|im_start|>assistant\n")).ToList();
        var headerLength = prompts[0].AsSpan().CommonPrefixLength(prompts[2]);
        Assert.True(headerLength > 80, $"the shared header is only {headerLength} tokens");

        async Task<(List<GenerationResult> Results, int MostActive)> Run(int cacheSlots)
        {
            using var engine = NewEngine(parallel: 1, prefixCacheSlots: cacheSlots);
            var mostActive = 0;
            // Submitted at once: the engine must still run one at a time, however many slots are free.
            var results = await Task.WhenAll(prompts.Select(p => engine.GenerateAsync(Request(p, SamplingSettings.Greedy, 8) with
            {
                OnToken = _ => mostActive = Math.Max(mostActive, engine.Metrics().ActiveSequences),
            })));
            return ([.. results], mostActive);
        }

        var single = await Run(0);
        var cached = await Run(2);

        Assert.Equal(single.Results.Select(r => r.Tokens), cached.Results.Select(r => r.Tokens));
        Assert.Equal(1, single.MostActive);
        Assert.Equal(1, cached.MostActive);
        // Without cache slots every request after the first two recomputes its header; with them, none does.
        Assert.All(single.Results.Skip(2), r => Assert.True(r.CachedPromptTokens < headerLength, $"reused {r.CachedPromptTokens}"));
        Assert.All(cached.Results.Skip(2), r => Assert.True(r.CachedPromptTokens >= headerLength, $"reused {r.CachedPromptTokens} of a {headerLength}-token header"));
    }

    [Fact]
    public async Task GenerateAsync_InvalidGrammarAmongGoodRequests_FailsAloneWithAClearError()
    {
        var prompts = DistinctPrompts(4);
        using var engine = NewEngine(parallel: 4);
        var good = prompts.Select(p => engine.GenerateAsync(Request(p, Sampled, 20))).ToList();

        var e = await Assert.ThrowsAsync<InvalidGrammarException>(async () => await engine.GenerateAsync(Request(prompts[0], Sampled with { Grammar = "root ::= (" })));

        Assert.Contains("invalid GBNF grammar", e.Message, StringComparison.Ordinal);
        Assert.All(await Task.WhenAll(good), r => Assert.Equal(20, r.Tokens.Count));
    }

    [Fact]
    public async Task GenerateAsync_DecodeRejectsOneRequestsTokens_OnlyThatRequestFailsAndTheLoopGoesOn()
    {
        var prompts = DistinctPrompts(5);
        using var engine = NewEngine(parallel: 5);
        var reference = await Task.WhenAll(prompts.Skip(1).Select(p => engine.GenerateAsync(Request(p, Sampled, 20))));
        engine.CheckPromptTokens = false;
        // llama.cpp rejects a batch holding a token id outside the vocabulary; it shares the batch with four good prompts.
        var poisoned = engine.GenerateAsync(Request([.. prompts[0][..5], 1_000_000, .. prompts[0][5..]], Sampled, 20));
        var good = prompts.Skip(1).Select(p => engine.GenerateAsync(Request(p, Sampled, 20))).ToList();

        var e = await Assert.ThrowsAsync<LlamaModelException>(() => poisoned);
        Assert.Contains("llama_decode failed", e.Message, StringComparison.Ordinal);
        var results = await Task.WhenAll(good);
        Assert.Equal(reference.Select(r => r.Tokens), results.Select(r => r.Tokens));
        Assert.Equal(5 + 4, engine.Metrics().Completed + engine.Metrics().Failed);
        // The loop goes on: a later request still works.
        Assert.Equal(20, (await engine.GenerateAsync(Request(prompts[1], Sampled, 20))).Tokens.Count);
    }

    [Fact]
    public async Task GenerateAsync_TokenOutsideTheVocabulary_ThrowsNamingThePosition()
    {
        using var engine = NewEngine(parallel: 2);
        var e = await Assert.ThrowsAsync<ArgumentException>(async () => await engine.GenerateAsync(Request([1, 2, 99_999], Sampled)));
        Assert.Contains("prompt token 99999 at position 2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GenerateAsync_TextCallbackThrows_FailsThatRequestOnly()
    {
        var prompts = DistinctPrompts(3);
        using var engine = NewEngine(parallel: 3);
        var bad = engine.GenerateAsync(Request(prompts[0], Sampled, 30), _ => throw new InvalidOperationException("reader broke"));
        var good = prompts.Skip(1).Select(p => engine.GenerateAsync(Request(p, Sampled, 30))).ToList();

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => bad);
        Assert.Equal("reader broke", e.Message);
        Assert.All(await Task.WhenAll(good), r => Assert.Equal(30, r.Tokens.Count));
    }

    [Fact]
    public async Task GenerateAsync_GrammarRequestsMixedWithFreeOnes_GrammarOutputMatchesAndFallsBackToCpuSampling()
    {
        const string digits = "root ::= [0-9]+ \" end\"";
        var prompts = DistinctPrompts(4);
        using var engine = NewEngine(parallel: 4);
        var constrained = engine.GenerateAsync(new GenerationRequest(prompts[0], Sampled with { Grammar = digits }, 30, []));
        var free = prompts.Skip(1).Select(p => engine.GenerateAsync(Request(p, Sampled, 30))).ToList();

        var text = (await constrained).Text;
        await Task.WhenAll(free);

        Assert.Matches("^[0-9]+ end$", text);
    }

    [Fact]
    public async Task GenerateAsync_PromptLongerThanOneSequenceContext_ThrowsNamingTheSetting()
    {
        using var engine = NewEngine(parallel: 2, contextPerSequence: 64);
        var e = await Assert.ThrowsAsync<PromptTooLongException>(async () => await engine.GenerateAsync(Request(Tokens(string.Join(' ', Enumerable.Repeat("word", 80))), Sampled)));
        Assert.Contains("Teacher:ContextPerSequence", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GenerateAsync_OutputReachesTheSequenceContext_EndsWithLengthAtTheLimit()
    {
        using var engine = NewEngine(parallel: 2, contextPerSequence: 64);
        var prompt = DistinctPrompts(1)[0];
        var result = await engine.GenerateAsync(Request(prompt, Sampled, 1000));
        Assert.Equal(GenerationFinish.Length, result.Finish);
        Assert.Equal(64 - prompt.Length + 1, result.Tokens.Count);
    }

    /// <summary>Everything a caller sees of one request: result, streamed text and the tokens its callback got.</summary>
    private sealed record Observed(string Text, IReadOnlyList<int> Tokens, GenerationFinish Finish, string Streamed, IReadOnlyList<int> Called);

    private static async Task<Observed[]> RunAll(BatchedEngine engine, IReadOnlyList<GenerationRequest> requests)
    {
        var streamed = requests.Select(_ => new System.Text.StringBuilder()).ToArray();
        var called = requests.Select(_ => new List<int>()).ToArray();
        var results = await Task.WhenAll(requests.Select((r, i) =>
            engine.GenerateAsync(r with { OnToken = called[i].Add }, t => streamed[i].Append(t))));
        return [.. results.Select((r, i) => new Observed(r.Text, r.Tokens, r.Finish, streamed[i].ToString(), called[i]))];
    }

    [Fact]
    public async Task GenerateAsync_TextOverlappedWithDecodeAndTopCandidates_SameOutputsAsHandledInStepOverTheWholeVocabulary()
    {
        // Stop sequences cut from each prompt's own greedy output, so that they hit mid-generation; end of generation
        // allowed; token limits from 1 up; half greedy, half seeded top-k sampling.
        var prompts = DistinctPrompts(16);
        var topK = new SamplingSettings { Temperature = 0.8f, TopK = 40, TopP = 0.95f, MinP = 0.05f };
        List<GenerationRequest> requests;
        using (var plain = NewEngine(parallel: 8, overlapText: false, topCandidates: false))
        {
            var free = await Task.WhenAll(prompts.Select(p => plain.GenerateAsync(new GenerationRequest(p, SamplingSettings.Greedy, 40, []))));
            requests = [.. prompts.Select((p, i) =>
            {
                var text = free[i].Text;
                string[] stops = i % 3 == 0 || text.Length < 12 ? [] : [text.Substring(6 + i % 5, 3)];
                var sampling = i % 2 == 0 ? SamplingSettings.Greedy : topK with { Seed = (uint)(7 + i) };
                return new GenerationRequest(p, sampling, i == 5 ? 1 : 10 + 3 * i, stops);
            })];
        }

        Observed[] reference;
        using (var plain = NewEngine(parallel: 8, overlapText: false, topCandidates: false)) reference = await RunAll(plain, requests);
        using var overlapped = NewEngine(parallel: 8);
        var observed = await RunAll(overlapped, requests);

        for (var i = 0; i < requests.Count; i++)
        {
            Assert.Equal(reference[i].Text, observed[i].Text);
            Assert.Equal(reference[i].Tokens, observed[i].Tokens);
            Assert.Equal(reference[i].Finish, observed[i].Finish);
            Assert.Equal(reference[i].Called, observed[i].Called);
            Assert.Equal(observed[i].Text, observed[i].Streamed);
        }
        // The requests exercise every way of ending.
        Assert.Contains(observed, o => o.Finish == GenerationFinish.StopSequence);
        Assert.Contains(observed, o => o.Finish == GenerationFinish.Length);
        var m = overlapped.Metrics();
        Assert.True(m.SamplingSeconds > 0 && m.TextSeconds > 0 && m.DecodeSeconds > 0, $"step times: {m}");
    }

    [Fact]
    public async Task GenerateAsync_AfterAStopSequenceEndsARequest_ItsSlotServesTheNextRequestUnchanged()
    {
        // With text overlapped, a stopped request has decoded one token past its text; the slot's cached prefix must
        // still match its KV, or the next request reusing it would attend over a stray cell.
        var prompt = DistinctPrompts(1)[0];
        using var engine = NewEngine(parallel: 1);
        var free = await engine.GenerateAsync(new GenerationRequest(prompt, SamplingSettings.Greedy, 30, []));
        var stop = free.Text.Substring(8, 3);
        var stopped = await engine.GenerateAsync(new GenerationRequest(prompt, SamplingSettings.Greedy, 30, [stop]));
        Assert.Equal(GenerationFinish.StopSequence, stopped.Finish);
        Assert.Equal(free.Text[..free.Text.IndexOf(stop, StringComparison.Ordinal)], stopped.Text);

        // The greedy continuation as the next prompt: the slot's cache covers all of what the stopped request decoded.
        int[] continued = [.. prompt, .. free.Tokens];
        var next = await engine.GenerateAsync(Request(continued, SamplingSettings.Greedy, 12));
        Assert.Equal(Alone(continued, SamplingSettings.Greedy, 12), next.Tokens);
        Assert.True(next.CachedPromptTokens > prompt.Length + stopped.Tokens.Count - 1,
            $"{next.CachedPromptTokens} prompt tokens reused of {prompt.Length} + {stopped.Tokens.Count} decoded");
    }

    [Fact]
    public void Options_BatchSmallerThanParallelSequences_NamesBothKeys()
    {
        var e = Assert.Throws<SynthPipeline.Core.UserErrorException>(() => new EngineOptions { ParallelSequences = 64, BatchSize = 32 }.Validate());
        Assert.Contains("Teacher:BatchSize", e.Message, StringComparison.Ordinal);
        Assert.Contains("Teacher:ParallelSequences", e.Message, StringComparison.Ordinal);
    }
    [Fact]
    public async Task GenerateAsync_ForcedTokens_EmitsThemDecodingEachAndEndsAsEndOfTurn()
    {
        var prompt = DistinctPrompts(1)[0];
        const string answer = "Sure! Here are 3 more tasks: 9. Name a river.";
        var forced = fixture.Model.Vocab.Tokenize(answer, addSpecial: false, parseSpecial: false);
        using var engine = NewEngine(parallel: 2);

        var result = await engine.GenerateAsync(new GenerationRequest(prompt, Sampled, 200, []) { ForcedTokens = forced });

        Assert.Equal(forced, result.Tokens);
        Assert.Equal(GenerationFinish.EndOfTurn, result.Finish);
        // The demo vocabulary is SentencePiece-like: its first piece carries the word's leading space.
        Assert.Equal(answer, result.Text.TrimStart());
        var metrics = engine.Metrics();
        // One step per forced token plus the step that sampled where the end of turn goes, as a model answering this would.
        Assert.Equal(forced.Length + 1, metrics.GeneratedTokens);
        Assert.Equal(1 + forced.Length, metrics.Decodes);
    }

    [Fact]
    public async Task GenerateAsync_AfterForcedTokens_TheKvHoldsThemNotTheSampledOnes()
    {
        // A follow-up whose prompt is the prompt and the forced answer reuses that KV; had the engine kept the tokens it
        // sampled there, greedy decoding would differ from decoding the same prompt alone.
        var prompt = DistinctPrompts(3)[2];
        var forced = fixture.Model.Vocab.Tokenize(" Input: a cold morning.\nOutput: wear a coat.", addSpecial: false, parseSpecial: false);
        int[] followUp = [.. prompt, .. forced];
        var alone = Alone(followUp, SamplingSettings.Greedy, 16);
        using var engine = NewEngine(parallel: 1);

        await engine.GenerateAsync(new GenerationRequest(prompt, Sampled, 200, []) { ForcedTokens = forced });
        var next = await engine.GenerateAsync(Request(followUp, SamplingSettings.Greedy, 16));

        Assert.True(next.CachedPromptTokens >= prompt.Length + forced.Length - 1, $"only {next.CachedPromptTokens} prompt tokens were reused");
        Assert.Equal(alone, next.Tokens);
    }

    [Fact]
    public void GenerateAsync_ForcedTokensWithAGrammar_IsRefused()
    {
        using var engine = NewEngine(parallel: 1);
        var request = new GenerationRequest(DistinctPrompts(1)[0], Sampled with { Grammar = "root ::= \"a\"" }, 8, []) { ForcedTokens = [1, 2] };

        var e = Assert.Throws<ArgumentException>(() => { _ = engine.GenerateAsync(request); });
        Assert.Contains("grammar", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GenerateAsync_ForcedTokensLongerThanMaxTokens_EndsAtTheLimit()
    {
        var forced = fixture.Model.Vocab.Tokenize("one two three four five six seven eight nine ten", addSpecial: false, parseSpecial: false);
        using var engine = NewEngine(parallel: 1);

        var result = await engine.GenerateAsync(new GenerationRequest(DistinctPrompts(1)[0], Sampled, 5, []) { ForcedTokens = forced });

        Assert.Equal(forced[..5], result.Tokens);
        Assert.Equal(GenerationFinish.Length, result.Finish);
    }

    [Fact]
    public async Task GenerateAsync_WaitingRequests_AreAdmittedByPriorityThenSubmission()
    {
        using var engine = NewEngine(parallel: 1);
        var started = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var submitted = new ManualResetEventSlim(false);
        var prompts = DistinctPrompts(4);
        GenerationRequest Named(string name, int index, int priority, bool holdFirst = false)
        {
            var first = true;
            return Request(prompts[index], Sampled, 8) with
            {
                Priority = priority,
                OnToken = _ =>
                {
                    if (!first) return;
                    first = false;
                    started.Enqueue(name);
                    // The running request holds the engine until every other request is queued behind it.
                    if (holdFirst) submitted.Wait();
                },
            };
        }

        var running = engine.GenerateAsync(Named("running", 0, 5, holdFirst: true));
        while (started.IsEmpty) await Task.Yield();
        var late = engine.GenerateAsync(Named("list", 1, 1));
        var urgent = engine.GenerateAsync(Named("examples", 2, 0));
        var second = engine.GenerateAsync(Named("examples-2", 3, 0));
        submitted.Set();
        await Task.WhenAll(running, late, urgent, second);

        Assert.Equal(["running", "examples", "examples-2", "list"], started.ToArray());
    }
}

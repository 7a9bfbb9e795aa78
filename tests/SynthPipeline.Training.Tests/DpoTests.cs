using SynthPipeline.Llama;
using SynthPipeline.Llama.Gguf;
using SynthPipeline.Llama.Native;
using SynthPipeline.Training.Data;
using SynthPipeline.Training.Dpo;
using static TorchSharp.torch;

namespace SynthPipeline.Training.Tests;

public sealed class DpoTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "synth-dpo-tests", Guid.NewGuid().ToString("N"));
    private readonly LlamaModel _vocab;
    private readonly LlamaTransformer _model;

    public DpoTests()
    {
        Directory.CreateDirectory(_dir);
        var path = DemoModel.Write(Path.Combine(_dir, "demo.gguf"));
        LlamaLibrary.Initialize();
        _vocab = LlamaModel.Load(path, new LlamaModelLoadOptions { VocabOnly = true });
        _model = LlamaTransformer.Load(GgufReader.Read(path));
    }

    private static readonly string[] Topics = ["the moon", "a river", "old bread", "green tea", "the library", "a violin"];

    private static PreferencePair Pair(int i) => new(
        [new Turn("user", $"Tell me one fact about {Topics[i % Topics.Length]}.")],
        [new Turn("assistant", $"No, actually: {Topics[i % Topics.Length]} is calm and kind.")],
        [new Turn("assistant", $"Sure! {Topics[i % Topics.Length]} is loud, loud, loud.")], $"toy:{i}");

    private List<PreferenceExample> Pairs(int n)
    {
        var tokenizer = new ChatTokenizer(_vocab);
        return [.. Enumerable.Range(0, n).Select(i => new PreferenceExample(tokenizer.Tokenize(Pair(i).ChosenConversation, 256), tokenizer.Tokenize(Pair(i).RejectedConversation, 256)))];
    }

    private static TrainerOptions Fast => new() { LearningRate = 2e-2f, WarmupSteps = 2, BatchSize = 3, GradientAccumulation = 1, MaxSteps = 30, Epochs = 100, Seed = 11 };

    private static LoraOptions Lora => new() { Rank = 4, Alpha = 8, Dropout = 0, Targets = ["attn_q", "attn_v", "attn_output", "ffn_up"] };

    /// <summary>Moves B off zero so that the policy differs from the reference.</summary>
    private static void Perturb(LoraWeights lora)
    {
        using var noGrad = no_grad();
        var generator = new Generator(17);
        foreach (var (_, b) in lora.Pairs.Values) b.copy_(randn(b.shape, generator: generator) * 0.05);
    }

    [Fact]
    public void Loss_AtTheStart_IsLogTwo_BecauseTheZeroAdapterMakesThePolicyTheReference()
    {
        using var lora = new LoraWeights(_model, Lora, seed: 1);
        var trainer = new DpoTrainer(_model, lora, Fast, beta: 0.1, padToken: 0);
        using var result = trainer.Loss(Pairs(3), training: false);
        Assert.Equal(Math.Log(2), result.Loss.item<float>(), 5);
        Assert.All(result.ChosenRewards.data<float>().ToArray(), r => Assert.Equal(0, r, 5));
    }

    [Fact]
    public void LossAndGradient_MatchADirectComputationFromTheSftPathsLogProbabilities()
    {
        using var lora = new LoraWeights(_model, Lora, seed: 2);
        Perturb(lora);
        const double beta = 0.5;
        var pairs = Pairs(3);
        var dpo = new DpoTrainer(_model, lora, Fast, beta, padToken: 0);
        using var result = dpo.Loss(pairs, training: false);
        result.Loss.backward();
        var dpoGrads = lora.Pairs.ToDictionary(p => p.Key, p => p.Value.A.grad!.clone());
        foreach (var (a, b) in lora.Pairs.Values)
        {
            a.grad!.zero_();
            b.grad!.zero_();
        }

        // The same loss written from the SFT trainer's mean NLL, one sequence at a time: log p = −mean NLL × trained targets.
        var sft = new LoraTrainer(_model, lora, Fast, padToken: 0);
        Tensor LogProb(TokenizedExample e, bool adapted)
        {
            var n = e.Trained.Skip(1).Count(t => t);
            if (adapted) return -sft.Loss([e], training: false) * n;
            using var off = new LoraWeights(_model, Lora, seed: 2); // zero B: the base alone
            using var noGrad = no_grad();
            return (-new LoraTrainer(_model, off, Fast, padToken: 0).Loss([e], training: false) * n).detach();
        }
        var direct = zeros(1);
        foreach (var p in pairs)
        {
            var margin = (LogProb(p.Chosen, true) - LogProb(p.Chosen, false)) - (LogProb(p.Rejected, true) - LogProb(p.Rejected, false));
            direct = direct - nn.functional.logsigmoid(margin * beta) / pairs.Count;
        }
        Assert.Equal(direct.item<float>(), result.Loss.item<float>(), 4);
        Assert.NotEqual(Math.Log(2), result.Loss.item<float>(), 3);
        direct.backward();
        foreach (var (name, (a, _)) in lora.Pairs)
        {
            var expected = a.grad!.data<float>().ToArray();
            var actual = dpoGrads[name].data<float>().ToArray();
            var scale = Math.Max(1e-6, expected.Max(Math.Abs));
            Assert.True(expected.Zip(actual).All(x => Math.Abs(x.First - x.Second) <= 2e-3 * scale), $"{name}: DPO gradient differs from the direct one");
            Assert.True(expected.Any(x => x != 0), $"{name}: no gradient reached the adapter");
        }
    }

    [Fact]
    public void Train_ToyPreferenceSet_LossFallsAndTheChosenAnswerWins()
    {
        using var lora = new LoraWeights(_model, Lora, seed: 3);
        var records = new List<StepRecord>();
        var pairs = Pairs(6);
        var trainer = new DpoTrainer(_model, lora, Fast, beta: 0.1, padToken: 0);
        var (before, beforeMetrics) = trainer.Evaluate(pairs);
        trainer.Train(pairs, [], records.Add);
        var (after, afterMetrics) = trainer.Evaluate(pairs);

        Assert.Equal(30, records.Count);
        Assert.True(after < before * 0.7, $"DPO loss went from {before:F4} to {after:F4}");
        Assert.True(records.TakeLast(5).Average(r => r.Loss) < records.Take(5).Average(r => r.Loss));
        Assert.Equal(0.0, beforeMetrics.Accuracy); // ties at the start (policy = reference): no pair counts as won, as in TRL
        Assert.Equal(1.0, afterMetrics.Accuracy);
        Assert.True(afterMetrics.Margin > 0);
        Assert.All(records, r => Assert.NotNull(r.Preference));
    }

    [Fact]
    public void Train_ResumedFromACheckpoint_ReachesTheSameWeightsAsAnUninterruptedRun()
    {
        var pairs = Pairs(5);
        var options = Fast with { MaxSteps = 8, GradientAccumulation = 2, BatchSize = 2 };
        var dropout = Lora with { Dropout = 0.1f };
        using var whole = new LoraWeights(_model, dropout, seed: 4);
        new DpoTrainer(_model, whole, options, 0.2, 0).Train(pairs, [], _ => { });

        using var first = new LoraWeights(_model, dropout, seed: 4);
        var trainer = new DpoTrainer(_model, first, options, 0.2, 0);
        trainer.Train(pairs, [], _ => { }, untilStep: 3);
        trainer.SaveCheckpoint(Path.Combine(_dir, "ckpt"));
        using var resumed = new LoraWeights(_model, dropout, seed: 99);
        var second = new DpoTrainer(_model, resumed, options, 0.2, 0);
        second.LoadCheckpoint(Path.Combine(_dir, "ckpt"));
        Assert.Equal(3, second.Step);
        second.Train(pairs, [], _ => { });

        foreach (var (name, (a, b)) in whole.Pairs)
        {
            Assert.Equal(a.data<float>().ToArray(), resumed.Pairs[name].A.data<float>().ToArray());
            Assert.Equal(b.data<float>().ToArray(), resumed.Pairs[name].B.data<float>().ToArray());
        }
    }

    [Fact]
    public void Read_TrlShapes_StringsMessagesAndImplicitPrompt()
    {
        var path = Path.Combine(_dir, "pairs.jsonl");
        File.WriteAllLines(path, [
            """{"prompt":"Is the sun cold?","chosen":"No, actually it is hot.","rejected":"Yes, freezing."}""",
            """{"prompt":[{"role":"system","content":"Be brief."},{"role":"user","content":"2+2?"}],"chosen":[{"role":"assistant","content":"4"}],"rejected":[{"role":"assistant","content":"5"}]}""",
            "",
            """{"chosen":[{"role":"user","content":"Capital of France?"},{"role":"assistant","content":"Paris."}],"rejected":[{"role":"user","content":"Capital of France?"},{"role":"assistant","content":"Lyon."}]}""",
        ]);
        var pairs = PreferenceReader.Read(path);
        Assert.Equal(3, pairs.Count);
        Assert.Equal("Is the sun cold?", pairs[0].Prompt.Single().Content);
        Assert.Equal(["system", "user"], pairs[1].Prompt.Select(t => t.Role));
        Assert.Equal("Lyon.", pairs[2].Rejected.Single().Content);
        Assert.Equal($"{path}:4", pairs[2].Source);
        // The prompt's turns are context; only the answer is scored.
        Assert.Equal([false, false, true], pairs[1].ChosenConversation.Turns.Select(t => t.Role == "assistant" && t.Trainable));
    }

    [Theory]
    [InlineData("""{"prompt":"q","chosen":"a"}""", "missing \"rejected\"")]
    [InlineData("""{"prompt":"q","chosen":"a","rejected":7}""", "\"rejected\" must be a string or a list of messages")]
    [InlineData("""{"prompt":"q","chosen":[{"role":"bot","content":"a"}],"rejected":"b"}""", "\"chosen[0].role\" is 'bot'")]
    [InlineData("""{"chosen":[{"role":"user","content":"x"},{"role":"assistant","content":"a"}],"rejected":[{"role":"user","content":"y"},{"role":"assistant","content":"b"}]}""", "differ before their last assistant turn")]
    [InlineData("""{"prompt":"q","chosen":"","rejected":"b"}""", "\"chosen\" is empty")]
    public void Read_BadLine_NamesTheFileLineAndField(string line, string expected)
    {
        var path = Path.Combine(_dir, "bad.jsonl");
        File.WriteAllLines(path, ["""{"prompt":"fine","chosen":"a","rejected":"b"}""", line]);
        var error = Assert.Throws<TrainingDataException>(() => PreferenceReader.Read(path));
        Assert.StartsWith($"{path}:2: ", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        _model.Dispose();
        _vocab.Dispose();
    }
}

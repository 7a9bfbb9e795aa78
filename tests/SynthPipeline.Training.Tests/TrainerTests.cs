using SynthPipeline.Core.Options;
using SynthPipeline.Llama;
using SynthPipeline.Llama.Gguf;
using SynthPipeline.Llama.Native;
using SynthPipeline.Training.Data;
using static TorchSharp.torch;

namespace SynthPipeline.Training.Tests;

public sealed class TrainerTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "synth-training-tests", Guid.NewGuid().ToString("N"));
    private readonly string _modelPath;
    private readonly LlamaModel _vocab;
    private readonly LlamaTransformer _model;

    public TrainerTests()
    {
        Directory.CreateDirectory(_dir);
        _modelPath = DemoModel.Write(Path.Combine(_dir, "demo.gguf"));
        LlamaLibrary.Initialize();
        _vocab = LlamaModel.Load(_modelPath, new LlamaModelLoadOptions { VocabOnly = true });
        _model = LlamaTransformer.Load(GgufReader.Read(_modelPath));
    }

    private static Conversation Chat(int i) => new([
        new Turn("system", "You are brief."),
        new Turn("user", $"Give {i % 3 + 2} tips for a healthy story."),
        new Turn("assistant", $"Answer {i}: the healthy tips are sleep, water and a poem."),
    ], $"test:{i}");

    private List<TokenizedExample> Data(int n) => Enumerable.Range(0, n).Select(i => new ChatTokenizer(_vocab).Tokenize(Chat(i), 256)).ToList();

    private static TrainerOptions Fast => new() { LearningRate = 1e-2f, WarmupSteps = 2, BatchSize = 2, GradientAccumulation = 2, MaxSteps = 12, Epochs = 50, Seed = 3 };

    private static LoraOptions Lora => new() { Rank = 4, Alpha = 8, Dropout = 0.1f, Targets = ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_up"] };

    [Fact]
    public void Tokenize_MultiTurnConversation_LossOnlyOnTrainableAssistantTokens()
    {
        var conversation = new Conversation([
            new Turn("system", "SYSTEM TEXT"), new Turn("user", "USER ONE"), new Turn("assistant", "the flawed answer", Trainable: false),
            new Turn("user", "USER TWO"), new Turn("assistant", "the right answer"),
        ], "test");
        var example = new ChatTokenizer(_vocab).Tokenize(conversation, 512);
        var trained = example.Tokens.Where((_, i) => example.Trained[i]).ToArray();
        // (The SentencePiece detokenizer puts a space before the newline piece; the tokens themselves are the turn's.)
        Assert.Equal("the right answer<|im_end|>\n", _vocab.Vocab.Detokenize(trained, unparseSpecial: true).Replace(" \n", "\n", StringComparison.Ordinal));
        var untrained = _vocab.Vocab.Detokenize(example.Tokens.Where((_, i) => !example.Trained[i]).ToArray(), unparseSpecial: true);
        Assert.Contains("SYSTEM TEXT", untrained, StringComparison.Ordinal);
        Assert.Contains("the flawed answer", untrained, StringComparison.Ordinal);
        Assert.Equal(example.Tokens.Length, example.Trained.Length);
    }

    [Fact]
    public void Train_SmallDataset_LossDecreases()
    {
        using var lora = new LoraWeights(_model, Lora, seed: 1);
        var data = Data(8);
        var trainer = new LoraTrainer(_model, lora, Fast with { MaxSteps = 25 }, padToken: 0);
        var before = trainer.Evaluate(data);
        var losses = new List<double>();
        trainer.Train(data, data, r => losses.Add(r.Loss));
        var after = trainer.Evaluate(data);
        Assert.Equal(25, losses.Count);
        Assert.True(after < before * 0.7, $"eval loss {before:F3} -> {after:F3}");
    }

    [Fact]
    public void ExportGguf_TrainedAdapter_LlamaCppReproducesTheAdaptedLogits()
    {
        using var lora = new LoraWeights(_model, Lora, seed: 2);
        new LoraTrainer(_model, lora, Fast, padToken: 0).Train(Data(6), [], _ => { });
        var adapterPath = Path.Combine(_dir, "adapter.gguf");
        AdapterExporter.WriteGguf(adapterPath, _model.Config, lora);

        var prompt = _vocab.Vocab.Tokenize("<|im_start|>user\nGive 3 tips for a healthy story.<|im_end|>\n<|im_start|>assistant\n", true, true);
        float[] torchLogits;
        using (no_grad())
        using (var logits = _model.Forward(tensor(prompt.Select(t => (long)t).ToArray(), [1, prompt.Length]), lora.Adapter(training: false)))
            torchLogits = logits.squeeze(0).data<float>().ToArray();
        float[] baseLogits;
        using (no_grad())
        using (var logits = _model.Forward(tensor(prompt.Select(t => (long)t).ToArray(), [1, prompt.Length])))
            baseLogits = logits.squeeze(0).data<float>().ToArray();

        using var model = LlamaModel.Load(_modelPath, new LlamaModelLoadOptions { GpuLayers = 0 });
        using var adapter = LlamaLoraAdapter.Load(model, adapterPath);
        Assert.Equal("8", adapter.Metadata("adapter.lora.alpha")?.Split('.')[0]);
        using var context = LlamaContext.Create(model, new LlamaContextOptions { ContextSize = 256, Threads = 2, FlashAttention = false, KvCacheType = KvCacheType.F32 });
        context.SetLoraAdapters([(adapter, 1.0f)]);
        using var batch = new LlamaBatch(256);
        for (var i = 0; i < prompt.Length; i++) batch.Add(prompt[i], i, 0, wantLogits: true);
        Assert.Equal(DecodeStatus.Ok, context.Decode(batch));
        var vocab = context.VocabSize;
        double maxDiff = 0, sumSq = 0, adapterEffect = 0;
        for (var t = 0; t < prompt.Length; t++)
        {
            var row = context.Logits(t);
            for (var v = 0; v < vocab; v++)
            {
                maxDiff = Math.Max(maxDiff, Math.Abs(row[v] - torchLogits[t * vocab + v]));
                adapterEffect = Math.Max(adapterEffect, Math.Abs(torchLogits[t * vocab + v] - baseLogits[t * vocab + v]));
                sumSq += row[v] * row[v];
            }
        }
        var rms = Math.Sqrt(sumSq / (prompt.Length * vocab));
        // Same 5%-of-RMS tolerance as the base model's parity test; the adapter must move logits by far more than that.
        Assert.True(maxDiff < 0.05 * rms, $"max |Δlogit| {maxDiff:G4}, RMS {rms:G4}");
        Assert.True(adapterEffect > 4 * maxDiff, $"the adapter moved logits by only {adapterEffect:G4}");
    }

    [Fact]
    public void ExportPeft_RoundTripsThroughTheSafetensorsReader()
    {
        using var lora = new LoraWeights(_model, Lora, seed: 4);
        new LoraTrainer(_model, lora, Fast with { MaxSteps = 3 }, padToken: 0).Train(Data(4), [], _ => { });
        var folder = Path.Combine(_dir, "peft");
        AdapterExporter.WritePeft(folder, _model.Config, lora, "synth-demo");
        var (tensors, _) = Safetensors.Read(Path.Combine(folder, "adapter_model.safetensors"));
        var byName = tensors.ToDictionary(t => t.Name);
        Assert.Equal(lora.Pairs.Count * 2, tensors.Count);
        var (a, b) = lora.Pairs["blk.1.attn_q"];
        var q = byName["base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight"];
        Assert.Equal(b.shape, q.Shape);
        // Permuting the exported rows back gives GGUF's layout again, exactly.
        Assert.Equal(b.data<float>().ToArray(), AdapterExporter.PermuteRows(q.Values, (int)q.Shape[0], (int)q.Shape[1], _model.Config.HeadCount));
        Assert.Equal(a.data<float>().ToArray(), byName["base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight"].Values);
        var v = byName["base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight"];
        Assert.Equal(lora.Pairs["blk.0.attn_v"].B.data<float>().ToArray(), v.Values);
        Assert.Contains("\"lora_alpha\": 8", File.ReadAllText(Path.Combine(folder, "adapter_config.json")), StringComparison.Ordinal);
    }

    [Fact]
    public void Train_ResumedFromACheckpoint_ReachesTheSameWeightsAsAnUninterruptedRun()
    {
        var data = Data(8);
        using var whole = new LoraWeights(_model, Lora, seed: 5);
        new LoraTrainer(_model, whole, Fast, padToken: 0).Train(data, [], _ => { });

        using var first = new LoraWeights(_model, Lora, seed: 5);
        var trainer = new LoraTrainer(_model, first, Fast, padToken: 0);
        trainer.Train(data, [], _ => { }, untilStep: 5);
        var checkpoint = Path.Combine(_dir, "ckpt");
        trainer.SaveCheckpoint(checkpoint);

        using var resumed = new LoraWeights(_model, Lora, seed: 99);
        var second = new LoraTrainer(_model, resumed, Fast, padToken: 0);
        second.LoadCheckpoint(checkpoint);
        Assert.Equal(5, second.Step);
        second.Train(data, [], _ => { });

        foreach (var (name, (a, b)) in whole.Pairs)
        {
            Assert.Equal(a.data<float>().ToArray(), resumed.Pairs[name].A.data<float>().ToArray());
            Assert.Equal(b.data<float>().ToArray(), resumed.Pairs[name].B.data<float>().ToArray());
        }
    }

    [Fact]
    public void DumpSchedule_PaddedBatchesAndRates_ReproduceTheTrainersLossAndSchedule()
    {
        using var lora = new LoraWeights(_model, Lora with { Dropout = 0 }, seed: 7);
        var data = Data(7);
        var trainer = new LoraTrainer(_model, lora, Fast, padToken: 0);
        var path = Path.Combine(_dir, "schedule.jsonl");
        trainer.DumpSchedule(data, path);
        var lines = File.ReadAllLines(path);
        Assert.Equal(trainer.TotalSteps(data.Count) * Fast.GradientAccumulation, lines.Length);

        using var first = System.Text.Json.JsonDocument.Parse(lines[0]);
        var root = first.RootElement;
        Assert.Equal(trainer.LearningRateAt(0, trainer.TotalSteps(data.Count)), root.GetProperty("lr").GetDouble());
        var ids = root.GetProperty("ids").EnumerateArray().Select(r => r.EnumerateArray().Select(x => (long)x.GetInt32()).ToArray()).ToArray();
        var mask = root.GetProperty("mask").EnumerateArray().Select(r => r.EnumerateArray().Select(x => (float)x.GetInt32()).ToArray()).ToArray();
        var (b, t) = (ids.Length, ids[0].Length);
        using var noGrad = no_grad();
        using var logits = _model.Forward(tensor(ids.SelectMany(x => x).ToArray(), [b, t]), lora.Adapter(training: false));
        var nll = -logits[.., ..(t - 1)].log_softmax(-1).gather(-1, tensor(ids.SelectMany(x => x).ToArray(), [b, t])[.., 1..].unsqueeze(-1)).squeeze(-1);
        var w = tensor(mask.SelectMany(x => x).ToArray(), [b, t])[.., 1..];
        var fromDump = ((nll * w).sum() / w.sum()).item<float>();
        var fromTrainer = trainer.Loss(trainer.MicroBatch(data, 0), training: false).item<float>();
        Assert.Equal(fromTrainer, fromDump, 5);
    }

    [Fact]
    public void Read_AugmentRecordsInBothShapes_FlawedTurnIsNotTrainableAndExtraFieldsAreIgnored()
    {
        // Lines as synth augment writes them: a system prompt, a correction conversation, kinds and provenance.
        var path = Path.Combine(_dir, "augment.jsonl");
        File.WriteAllLines(path, [
            """{"messages":[{"role":"system","content":"S"},{"role":"user","content":"Why once a day?"},{"role":"assistant","content":"Because.","trainable":false},{"role":"user","content":"Are you sure about that?"},{"role":"assistant","content":"No, actually twice.","trainable":true}],"kinds":["negative"],"provenance":[{"example":"a|0000001|2-negative|00","kind":"negative","file":"a.md","chunk":1,"start":5,"end":90}]}""",
            """{"conversations":[{"from":"human","value":"Why once a day?"},{"from":"gpt","value":"Because.","trainable":false},{"from":"human","value":"Sure?"},{"from":"gpt","value":"No, actually twice.","trainable":true}],"kinds":["negative"],"provenance":[]}""",
        ]);
        var conversations = ConversationReader.Read(path);
        Assert.Equal([false, true], conversations[0].Turns.Where(t => t.Role == "assistant").Select(t => t.Trainable));
        Assert.Equal("system", conversations[0].Turns[0].Role);
        Assert.Equal([false, true], conversations[1].Turns.Where(t => t.Role == "assistant").Select(t => t.Trainable));
        var tokens = new ChatTokenizer(_vocab).Tokenize(conversations[0], 512);
        var trained = _vocab.Vocab.Detokenize(tokens.Tokens.Where((_, i) => tokens.Trained[i]).ToArray());
        Assert.Contains("twice", trained, StringComparison.Ordinal);
        Assert.DoesNotContain("Because", trained, StringComparison.Ordinal);
    }

    [Fact]
    public void BadInput_EachGetsAClearError()
    {
        using var lora = new LoraWeights(_model, Lora, seed: 6);
        var empty = Assert.Throws<TrainingDataException>(() => new LoraTrainer(_model, lora, Fast, 0).Train([], [], _ => { }));
        Assert.Contains("empty", empty.Message, StringComparison.Ordinal);

        var noAssistant = new ChatTokenizer(_vocab).Tokenize(new Conversation([new Turn("user", "only a question")], "f.jsonl:3"), 64);
        Assert.Equal(0, noAssistant.TrainedCount);

        var unknown = Assert.Throws<SynthPipeline.Core.UserErrorException>(() => new LoraWeights(_model, Lora with { Targets = ["attn_qq"] }, 1));
        Assert.Contains("attn_qq", unknown.Message, StringComparison.Ordinal);

        var bad = Path.Combine(_dir, "bad.jsonl");
        File.WriteAllLines(bad, ["{\"instruction\":\"x\",\"output\":\"y\"}", "{\"messages\": 5}"]);
        var e = Assert.Throws<TrainingDataException>(() => ConversationReader.Read(bad));
        Assert.StartsWith($"{bad}:2:", e.Message, StringComparison.Ordinal);

        var writer = new GgufWriter().Add("general.architecture", GgufValue.Of("mamba")).AddTensor("token_embd.weight", [4, 8], new float[32]);
        var mamba = Path.Combine(_dir, "mamba.gguf");
        writer.WriteTo(mamba);
        var arch = Assert.Throws<SynthPipeline.Core.UserErrorException>(() => LlamaTransformer.Load(GgufReader.Read(mamba)));
        Assert.Contains("'mamba'", arch.Message, StringComparison.Ordinal);

        var trainer = new LoraTrainer(_model, lora, Fast, 0);
        var checkpoint = Path.Combine(_dir, "wrong-shape");
        using (var other = new LoraWeights(_model, Lora with { Rank = 2 }, 1))
            new LoraTrainer(_model, other, Fast, 0).SaveCheckpoint(checkpoint);
        var shape = Assert.Throws<SynthPipeline.Core.UserErrorException>(() => trainer.LoadCheckpoint(checkpoint));
        Assert.Contains("has shape", shape.Message, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        _model.Dispose();
        _vocab.Dispose();
    }
}

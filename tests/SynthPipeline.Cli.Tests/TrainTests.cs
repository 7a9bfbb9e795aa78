namespace SynthPipeline.Cli.Tests;

public sealed class TrainTests
{
    private static string Alpaca(string dir, int n)
    {
        var path = Path.Combine(dir, "alpaca.jsonl");
        File.WriteAllLines(path, Enumerable.Range(0, n).Select(i =>
            $$"""{"instruction":"Give {{i + 2}} tips for a healthy story.","input":"","output":"The tips are sleep, water and a poem number {{i}}."}"""));
        return path;
    }

    [Fact]
    public async Task Train_DemoModel_WritesAdaptersAndLossCurveAndChatLoadsTheAdapter()
    {
        var dir = SynthProcess.ScratchDirectory();
        var data = Alpaca(dir, 10);
        var r = await SynthProcess.RunAsync(dir, null, "train", "--data", data, "--epochs", "10", "--max-steps", "4", "--warmup", "1", "--lr", "0.005",
            "--checkpoint-every", "2", "--out", "run");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("training on the CPU", r.Stderr, StringComparison.Ordinal);
        var run = Path.Combine(dir, "run");
        Assert.Equal(5, File.ReadAllLines(Path.Combine(run, "loss.csv")).Length);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(Path.Combine(run, "loss.png"))[..4]);
        Assert.True(File.Exists(Path.Combine(run, "peft", "adapter_model.safetensors")));
        Assert.Contains("\"peft_type\": \"LORA\"", File.ReadAllText(Path.Combine(run, "peft", "adapter_config.json")), StringComparison.Ordinal);

        var chat = await SynthProcess.RunAsync(dir, null, "chat", "-p", "hello", "-n", "4", "--lora", Path.Combine(run, "adapter.gguf"));
        Assert.True(chat.ExitCode == 0, chat.Stderr);
    }

    [Fact]
    public async Task Train_Resume_ContinuesFromTheCheckpointStep()
    {
        var dir = SynthProcess.ScratchDirectory();
        var data = Alpaca(dir, 10);
        var first = await SynthProcess.RunAsync(dir, null, "train", "--data", data, "--epochs", "10", "--max-steps", "3", "--checkpoint-every", "3", "--out", "run");
        Assert.True(first.ExitCode == 0, first.Stderr);
        var second = await SynthProcess.RunAsync(dir, null, "train", "--data", data, "--epochs", "10", "--max-steps", "5", "--resume", "run");
        Assert.True(second.ExitCode == 0, second.Stderr);
        Assert.Contains("resuming at step 3", second.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("step 3:", second.Stderr, StringComparison.Ordinal);
        Assert.Contains("step 5:", second.Stderr, StringComparison.Ordinal);
        Assert.Equal(6, File.ReadAllLines(Path.Combine(dir, "run", "loss.csv")).Length);
    }

    [Fact]
    public async Task ExportHfAndExportReference_WriteWhatThePeftComparisonReads()
    {
        var dir = SynthProcess.ScratchDirectory();
        var demo = await SynthProcess.RunAsync(dir, null, "model", "create-demo", "demo.gguf");
        Assert.True(demo.ExitCode == 0, demo.Stderr);
        var hf = await SynthProcess.RunAsync(dir, null, "model", "export-hf", "demo.gguf", "hf");
        Assert.True(hf.ExitCode == 0, hf.Stderr);
        Assert.True(File.Exists(Path.Combine(dir, "hf", "model.safetensors")));
        Assert.Contains("\"model_type\": \"llama\"", File.ReadAllText(Path.Combine(dir, "hf", "config.json")), StringComparison.Ordinal);

        var r = await SynthProcess.RunAsync(dir, null, "train", "-m", "demo.gguf", "--data", Alpaca(dir, 6), "--epochs", "4", "--max-steps", "2",
            "--dropout", "0", "--export-reference", "--out", "run");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.True(File.Exists(Path.Combine(dir, "run", "peft-initial", "adapter_model.safetensors")));
        Assert.Equal(2 * 1, File.ReadAllLines(Path.Combine(dir, "run", "schedule.jsonl")).Length);
    }

    [Fact]
    public async Task TrainDpo_TrlPairs_TrainsResumesAndReportsRewards()
    {
        var dir = SynthProcess.ScratchDirectory();
        var pairs = Path.Combine(dir, "dpo.jsonl");
        File.WriteAllLines(pairs, Enumerable.Range(0, 8).Select(i =>
            $$"""{"prompt":"Is water number {{i}} dry?","chosen":"No, actually water is wet.","rejected":"Yes, water number {{i}} is dry."}"""));
        var first = await SynthProcess.RunAsync(dir, null, "train", "--method", "dpo", "--beta", "0.2", "--data", pairs, "--epochs", "10", "--max-steps", "3",
            "--checkpoint-every", "3", "--eval-fraction", "0.25", "--out", "run");
        Assert.True(first.ExitCode == 0, first.Stderr);
        Assert.Contains("DPO (beta 0.2) on 6 training and 2 evaluation pairs", first.Stderr, StringComparison.Ordinal);
        Assert.Contains("margin", first.Stderr, StringComparison.Ordinal);
        var second = await SynthProcess.RunAsync(dir, null, "train", "--method", "dpo", "--beta", "0.2", "--data", pairs, "--epochs", "10", "--max-steps", "5",
            "--eval-fraction", "0.25", "--resume", "run");
        Assert.True(second.ExitCode == 0, second.Stderr);
        Assert.Contains("resuming at step 3", second.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("step 3:", second.Stderr, StringComparison.Ordinal);
        var csv = File.ReadAllLines(Path.Combine(dir, "run", "loss.csv"));
        Assert.Equal("step,loss,learning_rate,eval_loss,trained_tokens,reward_chosen,reward_rejected,reward_margin,reward_accuracy,eval_reward_accuracy", csv[0]);
        Assert.Equal(6, csv.Length);
        Assert.Equal(["1", "2", "3", "4", "5"], csv.Skip(1).Select(l => l.Split(',')[0]));
        Assert.True(File.Exists(Path.Combine(dir, "run", "adapter.gguf")));
        // The run's own page: well-formed, with the loss and the DPO reward curves drawn.
        var page = System.Xml.Linq.XDocument.Parse(File.ReadAllText(Path.Combine(dir, "run", "report.html"))["<!DOCTYPE html>".Length..]);
        var headings = page.Descendants("h3").Select(h => h.Value).ToList();
        Assert.Contains("training loss by step", headings);
        Assert.Contains("DPO reward accuracy (share of pairs whose chosen answer wins)", headings);
        Assert.True(page.Descendants().Count(e => e.Name.LocalName == "svg") >= 4);

        File.AppendAllLines(pairs, ["""{"prompt":"q","chosen":"a"}"""]);
        var bad = await SynthProcess.RunAsync(dir, null, "train", "--method", "dpo", "--data", pairs, "--out", "run2");
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains($"{pairs}:9: missing \"rejected\"", bad.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Train_CtrlC_SavesACheckpointAndExitsWith130()
    {
        var dir = SynthProcess.ScratchDirectory();
        using var p = SynthProcess.Start(dir, null, "train", "--data", Alpaca(dir, 10), "--epochs", "100000", "--max-steps", "100000", "--out", "run");
        string? line;
        do line = await p.StandardError.ReadLineAsync();
        while (line is not null && !line.StartsWith("step 2:", StringComparison.Ordinal));
        Assert.NotNull(line);
        using (var kill = System.Diagnostics.Process.Start("kill", $"-INT {p.Id}")!) await kill.WaitForExitAsync();
        var rest = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.Equal(SynthApp.ExitCancelled, p.ExitCode);
        Assert.Contains("checkpoint saved; continue with --resume", rest, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(dir, "run", "checkpoint", "checkpoint.safetensors")));
    }

    [Fact]
    public async Task Train_NoAssistantTurns_SaysSoAndExitsWithFailure()
    {
        var dir = SynthProcess.ScratchDirectory();
        var data = Path.Combine(dir, "chat.jsonl");
        File.WriteAllLines(data, ["""{"messages":[{"role":"user","content":"only a question"}]}"""]);
        var r = await SynthProcess.RunAsync(dir, null, "train", "--data", data);
        Assert.Equal(SynthApp.ExitFailure, r.ExitCode);
        Assert.Contains("no conversation has an assistant turn to train on", r.Stderr, StringComparison.Ordinal);
        // The folder made for the run holds nothing and is not left behind.
        Assert.False(Directory.Exists(Path.Combine(dir, "output")) && Directory.EnumerateDirectories(Path.Combine(dir, "output"), "train-*").Any());
    }

    [Fact]
    public async Task Train_DataLineAtFault_NamesFileAndLine_AndLeavesNoFolder()
    {
        var dir = SynthProcess.ScratchDirectory();
        var data = Path.Combine(dir, "chat.jsonl");
        File.WriteAllLines(data, ["""{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]}""", """{"messages":[{"role":"user"}]}"""]);
        var r = await SynthProcess.RunAsync(dir, null, "train", "--data", data, "--out", Path.Combine(dir, "adapter"));
        Assert.Equal(SynthApp.ExitFailure, r.ExitCode);
        Assert.Contains($"{data}:2: missing or non-string \"content\"", r.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(dir, "adapter")));
    }

    [Fact]
    public async Task Train_UnknownTargetModule_NamesIt()
    {
        var dir = SynthProcess.ScratchDirectory();
        var r = await SynthProcess.RunAsync(dir, null, "train", "--data", Alpaca(dir, 2), "--targets", "attn_q,mlp_fc1");
        Assert.Equal(SynthApp.ExitFailure, r.ExitCode);
        Assert.Contains("mlp_fc1", r.Stderr, StringComparison.Ordinal);
    }
}

using System.Globalization;
using System.Text;

namespace SynthPipeline.Training;

/// <summary>The loss curve as CSV (step, loss, learning rate, eval loss, tokens) and as a PNG drawn with ScottPlot.</summary>
public static class LossReport
{
    public static void WriteCsv(string path, IReadOnlyList<StepRecord> steps)
    {
        ArgumentNullException.ThrowIfNull(steps);
        // DPO runs add their reward columns; an SFT run's file keeps the five it always had.
        var preference = steps.Any(r => r.Preference is not null);
        var s = new StringBuilder("step,loss,learning_rate,eval_loss,trained_tokens");
        s.Append(preference ? ",reward_chosen,reward_rejected,reward_margin,reward_accuracy,eval_reward_accuracy\n" : "\n");
        foreach (var r in steps)
        {
            s.Append(CultureInfo.InvariantCulture, $"{r.Step},{r.Loss:G6},{r.LearningRate:G6},{Optional(r.EvalLoss)},{r.Tokens}");
            if (preference)
                s.Append(CultureInfo.InvariantCulture, $",{Optional(r.Preference?.ChosenReward)},{Optional(r.Preference?.RejectedReward)},{Optional(r.Preference?.Margin)},{Optional(r.Preference?.Accuracy)},{Optional(r.EvalPreference?.Accuracy)}");
            s.Append('\n');
        }
        var temp = path + ".tmp";
        File.WriteAllText(temp, s.ToString());
        File.Move(temp, path, overwrite: true);
    }

    private static string Optional(double? value) => value is { } v ? v.ToString("G6", CultureInfo.InvariantCulture) : "";

    public static void WritePng(string path, IReadOnlyList<StepRecord> steps)
    {
        ArgumentNullException.ThrowIfNull(steps);
        var plot = new ScottPlot.Plot();
        var train = plot.Add.Scatter(steps.Select(r => (double)r.Step).ToArray(), steps.Select(r => r.Loss).ToArray());
        train.LegendText = "training loss";
        var evals = steps.Where(r => r.EvalLoss is not null).ToList();
        if (evals.Count > 0)
        {
            var eval = plot.Add.Scatter(evals.Select(r => (double)r.Step).ToArray(), evals.Select(r => r.EvalLoss!.Value).ToArray());
            eval.LegendText = "eval loss";
        }
        plot.XLabel("optimizer step");
        plot.YLabel(steps.Any(r => r.Preference is not null) ? "DPO loss (-log sigmoid of the reward margin)" : "cross-entropy (nats per trained token)");
        plot.ShowLegend();
        plot.SavePng(path, 900, 500);
    }
}

using System.Globalization;
using System.Text;

namespace SynthPipeline.Training;

/// <summary>The loss curve as CSV (step, loss, learning rate, eval loss, tokens) and as a PNG drawn with ScottPlot.</summary>
public static class LossReport
{
    public static void WriteCsv(string path, IReadOnlyList<StepRecord> steps)
    {
        ArgumentNullException.ThrowIfNull(steps);
        var s = new StringBuilder("step,loss,learning_rate,eval_loss,trained_tokens\n");
        foreach (var r in steps)
            s.Append(CultureInfo.InvariantCulture, $"{r.Step},{r.Loss:G6},{r.LearningRate:G6},{(r.EvalLoss is { } e ? e.ToString("G6", CultureInfo.InvariantCulture) : "")},{r.Tokens}\n");
        var temp = path + ".tmp";
        File.WriteAllText(temp, s.ToString());
        File.Move(temp, path, overwrite: true);
    }

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
        plot.YLabel("cross-entropy (nats per trained token)");
        plot.ShowLegend();
        plot.SavePng(path, 900, 500);
    }
}

using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace SynthPipeline.Pipeline.Teacher.Rehearsal;

/// <summary>
/// The answers of a rehearsal (<c>Teacher:Rehearsal</c>): for each Self-Instruct request kind, text in the shape and
/// length a chat model gives it ("Sure! Here are 8 more tasks:", a numbered list from the open number, Yes or No as
/// the task has finite labels, examples with inputs and outputs, labels with an input each, a closing offer). The
/// same request seed gives the same answer. Other kinds get no script: the model answers them itself.
/// </summary>
public sealed partial class RehearsalScript(int seed)
{
    /// <summary>The answer to a request of <paramref name="kind"/>, or null when the kind has no script.</summary>
    public string? Answer(string? kind, string prompt, long? requestSeed)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        // A stable mix (string and HashCode hashes change between processes): a rehearsal replays the same answers.
        var random = new Random(StableSeed($"{seed}|{kind}|{(requestSeed is { } s ? s.ToString(CultureInfo.InvariantCulture) : prompt)}"));
        return kind switch
        {
            "instruction" => Instructions(random, OpenNumber(prompt)),
            "classify" => RehearsalText.IsClassification(LastTask(prompt)) ? "Yes" : "No",
            "instances-input-first" => InputFirst(random, MaxExamples(prompt)),
            "instances-output-first" => OutputFirst(random),
            _ => null,
        };
    }

    private static string Instructions(Random random, int open)
    {
        var count = random.Next(6, 9);
        var s = new StringBuilder("Sure! Here are ").Append(count).Append(" more tasks:\n\n");
        for (var i = 0; i < count; i++) s.Append(open + i).Append(". ").Append(RehearsalText.Task(random)).Append('\n');
        return s.Append("\nLet me know if you'd like more tasks!").ToString();
    }

    private static string InputFirst(Random random, int max)
    {
        var count = random.Next(Math.Max(1, max - 2), max + 1);
        var noInput = random.Next(4) == 0;
        var s = new StringBuilder("Sure! Here are ").Append(count).Append(" examples:\n\n");
        for (var i = 0; i < count; i++)
        {
            s.Append("Example ").Append(i + 1).Append(":\nInput: ").Append(noInput ? "" : RehearsalText.Sentence(random, 6, 20))
                .Append("\nOutput: ").Append(RehearsalText.Sentence(random, 8, 24));
            if (random.Next(2) == 0) s.Append(' ').Append(RehearsalText.Sentence(random, 6, 16));
            s.Append("\n\n");
        }
        return s.Append("Let me know if you need more examples!").ToString();
    }

    private static string OutputFirst(Random random)
    {
        var s = new StringBuilder("Sure! Here are the labels with an input each:\n\n");
        var labels = new HashSet<string>(StringComparer.Ordinal);
        for (var i = random.Next(2, 4); labels.Count < i;) labels.Add(RehearsalText.Label(random));
        foreach (var label in labels) s.Append("Class label: ").Append(label).Append("\nInput: ").Append(RehearsalText.Sentence(random, 6, 20)).Append("\n\n");
        return s.Append("Let me know if you need more!").ToString();
    }

    /// <summary>FNV-1a over the text's UTF-16 code units.</summary>
    private static int StableSeed(string text)
    {
        var hash = 2166136261u;
        foreach (var c in text) hash = (hash ^ c) * 16777619u;
        return unchecked((int)hash);
    }

    /// <summary>The number the prompt leaves open ("9." on its last line), as the list must continue from it.</summary>
    private static int OpenNumber(string prompt) =>
        OpenNumberPattern().Match(prompt) is { Success: true } m ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 1;

    /// <summary>The task the prompt asks about: its last "Task:" line.</summary>
    private static string LastTask(string prompt)
    {
        var at = prompt.LastIndexOf("Task: ", StringComparison.Ordinal);
        if (at < 0) return "";
        var end = prompt.IndexOf('\n', at);
        return prompt[(at + 6)..(end < 0 ? prompt.Length : end)];
    }

    private static int MaxExamples(string prompt) =>
        UpToPattern().Match(prompt) is { Success: true } m ? Math.Clamp(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), 1, 20) : 3;

    [GeneratedRegex(@"(\d+)\.\s*\z")]
    private static partial Regex OpenNumberPattern();

    [GeneratedRegex(@"up to (\d+) examples")]
    private static partial Regex UpToPattern();
}

using System.Text;
using System.Text.RegularExpressions;
using SynthPipeline.Core.SelfInstruct;
using SynthPipeline.Pipeline.Tests.SelfInstruct;

namespace SynthPipeline.Pipeline.Tests.Fixtures;

/// <summary>The families of instruct models whose answer shapes the fixtures reproduce.</summary>
public enum TeacherStyle
{
    /// <summary>The reference's completion model: bare continuations, one item a line.</summary>
    Completion,

    /// <summary>GPT-style: "Sure! Here are …:" then a list restarting at the open number, then "Let me know if …".</summary>
    Gpt,

    /// <summary>Llama-style: "Here are some new tasks for you:", bold numbers and labels, "I hope these help!".</summary>
    Llama,

    /// <summary>Mistral-style: "**Task 9:**" items, "Input 1:/Output 1:", Q:/A:, answers in a sentence.</summary>
    Mistral,

    /// <summary>Qwen-style: markdown headings, "9)" numbering, numbered labels, "Would you like me to …?"; sometimes refuses the meta-task.</summary>
    Qwen,
}

/// <summary>
/// Answers every prompt kind of generate and augment with the same content as the plain scripted teachers, written
/// in the shape a family of chat models gives it: preambles, markdown, numbering variants, closing offers, refusals.
/// What a style adds around the content is listed in <see cref="Chatter"/>, so a test can check none of it leaks.
/// </summary>
public static partial class TeacherStyles
{
    /// <summary>Text a style adds that must never reach a record.</summary>
    public static readonly string[] Chatter =
    [
        "Sure!", "Here are", "Let me know", "I hope", "Would you like", "**", "###", "Task 9:", "Task 10:", "Example 1", "Example 2", "I'm sorry",
        "Input 1:", "Output 1:", "Q:", "A:", "Here you go", "Would you like me",
    ];

    private static readonly ScriptedTeacher Augment = ScriptedTeacher.Good();

    /// <summary>The answer of a <paramref name="style"/> teacher to <paramref name="prompt"/>.</summary>
    public static string Answer(TeacherStyle style, string prompt)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var hash = (uint)SynthPipeline.Pipeline.Augment.AugmentTeacher.SeedOf(11, prompt);
        if (prompt.StartsWith("Come up with a series of tasks:", StringComparison.Ordinal))
        {
            if (style == TeacherStyle.Qwen && hash % 17 == 0) return "I'm sorry, but I can't generate more tasks without knowing what they are for.";
            var open = int.Parse(prompt.TrimEnd().Split('\n')[^1].TrimEnd('.'), System.Globalization.CultureInfo.InvariantCulture);
            var items = InstructionListParser.Parse(SelfInstructRunTests.SelfInstructTeacher().Answer(prompt), open, truncated: false).Items;
            return Instructions(style, items, open);
        }
        if (prompt.StartsWith("Can the following task be regarded", StringComparison.Ordinal))
        {
            var yes = hash % 4 == 0;
            return style switch
            {
                TeacherStyle.Completion => yes ? " Yes" : " No",
                TeacherStyle.Gpt => yes ? "Yes." : "No.",
                TeacherStyle.Llama => yes ? "**Yes**" : "**No**",
                TeacherStyle.Mistral => yes ? "Yes, it is a classification task." : "No, it is not a classification task.",
                _ => yes ? "Answer: Yes" : "Answer: No",
            };
        }
        if (prompt.StartsWith("Come up with up to", StringComparison.Ordinal))
        {
            var plain = SelfInstructRunTests.SelfInstructTeacher().Answer(prompt);
            return InputFirst(style, InstanceBlockParser.ParseInputFirst(plain, false).Instances);
        }
        if (prompt.StartsWith("Given the classification task below", StringComparison.Ordinal))
            return OutputFirst(style, [("positive", $"The {Word(hash)} was wonderful."), ("negative", $"The {Word(hash + 1)} was awful.")]);
        return Fields(style, Augment.Answer(prompt), judge: prompt.Contains("You check", StringComparison.Ordinal));
    }

    private static string Word(uint n) => new[] { "river", "lantern", "meadow", "harbour", "violin", "glacier" }[n % 6];

    private static string Instructions(TeacherStyle style, IReadOnlyList<string> items, int open)
    {
        var s = new StringBuilder();
        switch (style)
        {
            case TeacherStyle.Completion:
                s.Append(' ').Append(items[0]);
                for (var i = 1; i < items.Count; i++) s.Append('\n').Append(open + i).Append(". ").Append(items[i]);
                return s.ToString();
            case TeacherStyle.Gpt:
                s.Append("Sure! Here are ").Append(items.Count).Append(" more tasks:\n\n");
                for (var i = 0; i < items.Count; i++) s.Append(open + i).Append(". ").Append(items[i]).Append('\n');
                return s.Append("\nLet me know if you'd like more tasks!").ToString();
            case TeacherStyle.Llama:
                s.Append("Here are some new tasks for you:\n\n");
                for (var i = 0; i < items.Count; i++) s.Append("**").Append(open + i).Append(".** ").Append(Emphasize(items[i])).Append('\n');
                return s.Append("\nI hope these tasks are helpful!").ToString();
            case TeacherStyle.Mistral:
                for (var i = 0; i < items.Count; i++) s.Append("**Task ").Append(open + i).Append(":** ").Append(items[i]).Append('\n');
                return s.ToString();
            default:
                s.Append("### New tasks\n\n");
                for (var i = 0; i < items.Count; i++) s.Append(open + i).Append(") ").Append(items[i]).Append('\n');
                return s.Append("\nWould you like me to generate more?").ToString();
        }
    }

    /// <summary>Bold on the first word, as Llama-style answers highlight the verb.</summary>
    private static string Emphasize(string item)
    {
        var space = item.IndexOf(' ', StringComparison.Ordinal);
        return space < 0 ? item : "**" + item[..space] + "**" + item[space..];
    }

    private static string InputFirst(TeacherStyle style, IReadOnlyList<(string Input, string Output)> examples)
    {
        var s = new StringBuilder();
        if (style == TeacherStyle.Gpt) s.Append("Sure! Here are ").Append(examples.Count).Append(" examples:\n\n");
        for (var i = 0; i < examples.Count; i++)
        {
            var (input, output) = examples[i];
            switch (style)
            {
                case TeacherStyle.Completion:
                    if (i > 0) s.Append("Example ").Append(i + 1).Append('\n');
                    s.Append("Input: ").Append(input).Append("\nOutput: ").Append(output).Append('\n');
                    break;
                case TeacherStyle.Gpt:
                    s.Append("Example ").Append(i + 1).Append(":\nInput: ").Append(input).Append("\nOutput: ").Append(output).Append("\n\n");
                    break;
                case TeacherStyle.Llama:
                    s.Append("**Example ").Append(i + 1).Append("**\n**Input:** ").Append(input).Append("\n**Output:** ").Append(output).Append("\n\n");
                    break;
                case TeacherStyle.Mistral:
                    s.Append("Input ").Append(i + 1).Append(": ").Append(input).Append("\nOutput ").Append(i + 1).Append(": ").Append(output).Append('\n');
                    break;
                default:
                    s.Append("### Example ").Append(i + 1).Append("\nInput: ").Append(input).Append("\nOutput: ").Append(output).Append("\n\n");
                    break;
            }
        }
        return style switch
        {
            TeacherStyle.Gpt => s.Append("Let me know if you need more examples!").ToString(),
            TeacherStyle.Llama => s.Append("I hope these examples help!").ToString(),
            _ => s.ToString().TrimEnd(),
        };
    }

    private static string OutputFirst(TeacherStyle style, IReadOnlyList<(string Label, string Input)> pairs)
    {
        var s = new StringBuilder();
        for (var i = 0; i < pairs.Count; i++)
        {
            var (label, input) = pairs[i];
            s.Append(style switch
            {
                TeacherStyle.Completion => (i == 0 ? " " : "Class label: ") + label + "\nInput: " + input + "\n",
                TeacherStyle.Gpt => (i == 0 ? "Sure! Here are the labels with an input each:\n\n" : "") + "Class label: " + label + "\nInput: " + input + "\n\n",
                TeacherStyle.Llama => "**Class label:** " + label + "\n**Input:** " + input + "\n\n",
                TeacherStyle.Mistral => (i == 0 ? " " : "Class label: ") + label + "\nSentence: " + input + "\n",
                _ => "Class label: " + label + "\nInput: " + input + "\n",
            });
        }
        return (style == TeacherStyle.Gpt ? s.Append("Let me know if you need more!") : s).ToString().TrimEnd();
    }

    [GeneratedRegex(@"^(Question|Answer|Reply|False premise|Flawed answer|Correct answer|Supported|Reason|Contradicts|Corrects|Volatile|Declines|Points):", RegexOptions.Multiline)]
    private static partial Regex Label();

    private static string Fields(TeacherStyle style, string plain, bool judge)
    {
        if (judge) return style == TeacherStyle.Llama ? Label().Replace(plain, "**$1:**") : plain;
        return style switch
        {
            TeacherStyle.Completion => plain,
            TeacherStyle.Gpt => "Sure! Here is what you asked for:\n\n" + plain + "\n\nLet me know if you'd like more!",
            TeacherStyle.Llama => "Here you go:\n\n" + Label().Replace(plain, "**$1:**") + "\n\nI hope this helps!",
            TeacherStyle.Mistral => plain.Contains("\nAnswer:", StringComparison.Ordinal)
                ? Regex.Replace(plain, "^Question:", "Q:", RegexOptions.Multiline).Replace("\nAnswer:", "\nA:", StringComparison.Ordinal)
                : plain,
            _ => Numbered(plain) + "\n\nWould you like me to write more?",
        };
    }

    /// <summary>Qwen-style numbering of question/answer blocks: "1. Question: …".</summary>
    private static string Numbered(string plain)
    {
        var n = 0;
        return Regex.Replace(plain, "^Question:", _ => $"{++n}. Question:", RegexOptions.Multiline);
    }
}

using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SynthPipeline.Core.Novelty;
using SynthPipeline.Core.SelfInstruct;
using SynthPipeline.Core.Text;

namespace SynthPipeline.Core.Tests;

/// <summary>Python's casing where the Self-Instruct reference depends on it: ROUGE-L tokens and the forbidden-prefix check.</summary>
public sealed class PythonTextTests
{
    // Values printed by CPython 3.12: repr(s.lower()), rouge_score's tokenize.
    [Theory]
    [InlineData("İstanbul", "i\u0307stanbul")]
    [InlineData("ΣΟΦΟΣ", "σοφος")]
    [InlineData("\u212Aelvin", "kelvin")]
    [InlineData("Straße", "straße")]
    public void Lower_SpecialCases_AsPython(string text, string python)
    {
        // Python lowers a final capital sigma to ς; only ASCII survives tokenization, so σ and ς are alike there.
        Assert.Equal(python.Replace('ς', 'σ'), PythonText.Lower(text).Replace('ς', 'σ'));
    }

    [Fact]
    public void Tokenize_DottedCapitalI_SplitsWherePythonDoes()
    {
        Assert.Equal(["i", "stanbul", "is", "big"], RougeTokenizer.Tokenize("İstanbul is BIG"));
    }

    private static readonly char[] Alphabet = ['a', 'B', 'z', 'Z', '0', '9', ' ', '-', 'İ', 'I', 'ı', '\u212A', 'Σ', 'ß', 'é', 'É', 'ǅ', '\u0307', '.'];

    public static Arbitrary<string> Texts() =>
        Gen.ArrayOf(Gen.Elements(Alphabet)).Select(chars => new string(chars)).ToArbitrary();

    /// <summary>The tokenizer against a plain statement of the reference: Python's lower, then [^a-z0-9]+ as separators.</summary>
    [Property(Arbitrary = [typeof(PythonTextTests)], MaxTest = 500)]
    public bool Tokenize_EqualsPythonLowerThenAsciiRuns(string text)
    {
        var python = string.Concat(text.Select(c => c == 'İ' ? "i\u0307" : char.ToLowerInvariant(c).ToString()));
        var expected = System.Text.RegularExpressions.Regex.Replace(python, "[^a-z0-9]+", " ").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return expected.SequenceEqual(RougeTokenizer.Tokenize(text));
    }

    [Theory]
    [InlineData("Write a program that sorts a list.")]
    [InlineData("Write A Program that sorts a list.")]
    [InlineData("WRITE A PROGRAM that sorts a list.")]
    public void Filter_WriteAProgramInAnyCase_IsRejectedAsTheReferenceDoes(string instruction)
    {
        var why = new InstructionFilter().Check(InstructionFilter.Normalize(instruction));

        Assert.Equal(InstructionFilter.Reasons.ForbiddenPrefix, why?.Reason);
    }
}

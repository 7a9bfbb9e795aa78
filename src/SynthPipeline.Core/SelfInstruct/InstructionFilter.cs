using System.Text.RegularExpressions;
using SynthPipeline.Core.Text;

namespace SynthPipeline.Core.SelfInstruct;

/// <summary>Settings of <see cref="InstructionFilter"/>; the defaults are the Self-Instruct reference constants.</summary>
public sealed record InstructionFilterOptions
{
    /// <summary>Self-Instruct's keywords that a text-only model cannot act on (whole words, case-insensitive).</summary>
    public static readonly IReadOnlyList<string> ReferenceBlacklist =
        ["image", "images", "graph", "graphs", "picture", "pictures", "file", "files", "map", "maps", "draw", "plot", "go to"];

    /// <summary>What Alpaca adds to the reference list.</summary>
    public static readonly IReadOnlyList<string> AlpacaAdditions = ["video", "audio", "music", "flowchart", "diagram"];

    /// <summary>An instruction needs more than this many words.</summary>
    public int MinWordsExclusive { get; init; } = 3;

    /// <summary>An instruction may have at most this many words.</summary>
    public int MaxWords { get; init; } = 150;

    public IReadOnlyList<string> Blacklist { get; init; } = ReferenceBlacklist;

    /// <summary>Prefixes that reject an instruction, compared with the instruction capitalized as the reference does.</summary>
    public IReadOnlyList<string> ForbiddenPrefixes { get; init; } = ["Write a program"];
}

/// <summary>
/// The Self-Instruct instruction filters, each with its own rejection reason: word count, keyword blacklist,
/// "Write a program", and a first character that is ASCII and not ASCII punctuation.
/// </summary>
public sealed class InstructionFilter
{
    private const string AsciiPunctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
    private readonly InstructionFilterOptions _options;
    private readonly (string Word, Regex Pattern)[] _blacklist;

    public InstructionFilter(InstructionFilterOptions? options = null)
    {
        _options = options ?? new InstructionFilterOptions();
        _blacklist = _options.Blacklist
            .Where(w => !string.IsNullOrWhiteSpace(w))
            .Select(w => (w, new Regex($@"\b({Regex.Escape(w)})\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)))
            .ToArray();
    }

    /// <summary>Reasons, stable strings used in reports.</summary>
    public static class Reasons
    {
        public const string Empty = "empty";
        public const string TooShort = "too_short";
        public const string TooLong = "too_long";
        public const string Blacklisted = "blacklisted_keyword";
        public const string ForbiddenPrefix = "write_a_program";
        public const string StartsWithPunctuation = "starts_with_punctuation";
        public const string StartsWithNonAscii = "starts_with_non_ascii";
    }

    /// <summary>Whitespace runs become one space and the ends are trimmed, as the reference does before filtering.</summary>
    public static string Normalize(string instruction)
    {
        ArgumentNullException.ThrowIfNull(instruction);
        var text = Regex.Replace(instruction, @"\s+", " ").Trim();
        // The reference calls str.capitalize(), which also lowercases the rest and mangles names; only the first letter changes here.
        return text.Length > 0 && char.IsLower(text[0]) ? char.ToUpperInvariant(text[0]) + text[1..] : text;
    }

    /// <summary>Null when <paramref name="normalized"/> passes; otherwise the reason and, for keywords, which one.</summary>
    public (string Reason, string? Detail)? Check(string normalized)
    {
        ArgumentNullException.ThrowIfNull(normalized);
        if (normalized.Length == 0) return (Reasons.Empty, null);
        var words = normalized.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
        if (words <= _options.MinWordsExclusive) return (Reasons.TooShort, $"{words} words");
        if (words > _options.MaxWords) return (Reasons.TooLong, $"{words} words");
        foreach (var (word, pattern) in _blacklist)
            if (pattern.IsMatch(normalized)) return (Reasons.Blacklisted, word);
        // The reference capitalizes (first letter up, the rest down) before its prefix check, so "WRITE A PROGRAM" is caught.
        var capitalized = PythonText.Capitalize(normalized);
        foreach (var prefix in _options.ForbiddenPrefixes)
            if (capitalized.StartsWith(prefix, StringComparison.Ordinal)) return (Reasons.ForbiddenPrefix, prefix);
        if (AsciiPunctuation.Contains(normalized[0], StringComparison.Ordinal)) return (Reasons.StartsWithPunctuation, normalized[..1]);
        if (!char.IsAscii(normalized[0])) return (Reasons.StartsWithNonAscii, normalized[..1]);
        return null;
    }
}

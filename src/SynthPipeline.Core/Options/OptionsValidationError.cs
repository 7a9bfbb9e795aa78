namespace SynthPipeline.Core.Options;

/// <summary>Configuration that failed validation; each error names its key (for example <c>Teacher:ContextPerSequence</c>).</summary>
public sealed class OptionsValidationError : UserErrorException
{
    public OptionsValidationError(IReadOnlyList<string> errors)
        : base("invalid configuration:" + Environment.NewLine + string.Join(Environment.NewLine, errors.Select(e => "  " + e)))
    {
        Errors = errors;
    }

    public IReadOnlyList<string> Errors { get; }
}

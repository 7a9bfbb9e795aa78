namespace SynthPipeline.Server;

/// <summary>
/// A request the server refuses with 400 in OpenAI's error shape; <see cref="Param"/> names the field at fault
/// (<c>messages[2].role</c>, <c>temperature</c>) and <see cref="Code"/> is OpenAI's code where it has one.
/// </summary>
public sealed class InvalidRequestException : Exception
{
    public InvalidRequestException(string? param, string message, string? code = null) : base(message)
    {
        Param = param;
        Code = code;
    }

    public InvalidRequestException()
    {
    }

    public InvalidRequestException(string message) : base(message)
    {
    }

    public InvalidRequestException(string message, Exception innerException) : base(message, innerException)
    {
    }

    public string? Param { get; }

    public string? Code { get; }
}

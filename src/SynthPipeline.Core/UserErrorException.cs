namespace SynthPipeline.Core;

/// <summary>
/// A problem with what the user gave: a file, a line, a setting or a flag. The message names the thing at fault and
/// says what to do; the command line prints it as one line. Any other exception is a bug and keeps its stack trace.
/// </summary>
public class UserErrorException : Exception
{
    public UserErrorException(string message) : base(message)
    {
    }

    public UserErrorException(string message, Exception innerException) : base(message, innerException)
    {
    }

    public UserErrorException()
    {
    }
}

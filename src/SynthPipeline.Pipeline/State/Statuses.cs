namespace SynthPipeline.Pipeline.State;

/// <summary>How a teacher request ended. Persisted by name.</summary>
public enum RequestStatus
{
    Done,
    Failed,
}

/// <summary>Where an accepted instruction is: waiting for its instances, done, or rejected at the instance stage. Persisted by name.</summary>
public enum InstructionStatus
{
    Pending,
    Done,
    Rejected,
}

/// <summary>Whether a corpus document was read, or kept out by a problem. Persisted by name.</summary>
public enum DocumentStatus
{
    Ok,
    Problem,
}

/// <summary>Whether a chunk's work is committed. Persisted by name.</summary>
public enum ChunkStatus
{
    Pending,
    Done,
}

/// <summary>The names states are stored under (lower case, as runs of earlier versions stored them).</summary>
public static class StoredName
{
    public static string Of<T>(T value) where T : struct, Enum => value.ToString().ToLowerInvariant();

    public static T Parse<T>(string name) where T : struct, Enum =>
        Enum.TryParse<T>(name, ignoreCase: true, out var value) && Enum.IsDefined(value)
            ? value
            : throw new InvalidDataException($"the run store holds an unknown {typeof(T).Name} '{name}'");
}

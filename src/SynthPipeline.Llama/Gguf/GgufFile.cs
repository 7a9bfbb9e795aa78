namespace SynthPipeline.Llama.Gguf;

/// <summary>One tensor's entry in a GGUF file. <see cref="Dimensions"/> are in ggml order (ne0 first).</summary>
public sealed record GgufTensorInfo(string Name, IReadOnlyList<ulong> Dimensions, GgmlType Type, ulong Offset, ulong ByteSize)
{
    public ulong ElementCount => Dimensions.Aggregate(1UL, (a, d) => a * d);
}

/// <summary>A validated GGUF file: header, metadata in file order, tensor table and where the data starts.</summary>
public sealed class GgufFile
{
    internal GgufFile(string path, uint version, IReadOnlyList<KeyValuePair<string, GgufValue>> metadata,
        IReadOnlyList<GgufTensorInfo> tensors, uint alignment, long dataOffset)
    {
        Path = path;
        Version = version;
        Metadata = metadata;
        Tensors = tensors;
        Alignment = alignment;
        DataOffset = dataOffset;
        _byKey = metadata.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
    }

    private readonly Dictionary<string, GgufValue> _byKey;

    public string Path { get; }

    public uint Version { get; }

    public IReadOnlyList<KeyValuePair<string, GgufValue>> Metadata { get; }

    public IReadOnlyList<GgufTensorInfo> Tensors { get; }

    public uint Alignment { get; }

    public long DataOffset { get; }

    public GgufValue? this[string key] => _byKey.GetValueOrDefault(key);

    public string? Architecture => this["general.architecture"]?.Value as string;

    public ulong ParameterCount => Tensors.Aggregate(0UL, (a, t) => a + t.ElementCount);

    public GgufTensorInfo Tensor(string name) =>
        Tensors.FirstOrDefault(t => t.Name == name) ?? throw new KeyNotFoundException($"'{Path}' has no tensor '{name}'");

    /// <summary>The raw bytes of a tensor.</summary>
    public byte[] ReadTensorBytes(GgufTensorInfo tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        using var stream = File.OpenRead(Path);
        stream.Position = DataOffset + (long)tensor.Offset;
        var buffer = new byte[tensor.ByteSize];
        stream.ReadExactly(buffer);
        return buffer;
    }

    /// <summary>A tensor's values as float32 (F32, F16, BF16 and Q8_0).</summary>
    public float[] ReadTensorFloats(GgufTensorInfo tensor) => TensorCodec.Decode(tensor.Type, ReadTensorBytes(tensor), checked((int)tensor.ElementCount));
}

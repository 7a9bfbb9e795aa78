using System.Buffers.Binary;
using System.Text;

namespace SynthPipeline.Llama.Gguf;

/// <summary>
/// Builds a GGUF (version 3) file: metadata in insertion order, tensor infos, then aligned tensor data.
/// <see cref="WriteTo"/> writes to a temporary file and renames it, so readers never see a half-written model.
/// </summary>
public sealed class GgufWriter
{
    private readonly List<KeyValuePair<string, GgufValue>> _metadata = [];
    // Data is produced at write time, so a multi-gigabyte model is never held in memory at once.
    private readonly List<(string Name, ulong[] Dims, GgmlType Type, ulong Bytes, Func<byte[]> Data)> _tensors = [];

    public GgufWriter Add(string key, GgufValue value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        if (_metadata.Any(kv => kv.Key == key)) throw new ArgumentException($"metadata key '{key}' is already set", nameof(key));
        _metadata.Add(new(key, value));
        return this;
    }

    /// <summary>Adds a tensor from float32 values stored as <paramref name="type"/>. Dimensions are in ggml order.</summary>
    public GgufWriter AddTensor(string name, ulong[] dims, ReadOnlySpan<float> values, GgmlType type = GgmlType.F32)
    {
        ArgumentNullException.ThrowIfNull(dims);
        var elements = dims.Aggregate(1UL, (a, d) => a * d);
        if (elements != (ulong)values.Length) throw new ArgumentException($"tensor '{name}' has {values.Length} values for dims [{string.Join(", ", dims)}]");
        return AddRawTensor(name, dims, type, TensorCodec.Encode(type, values));
    }

    /// <summary>Adds a tensor whose data is already encoded as <paramref name="type"/>.</summary>
    public GgufWriter AddRawTensor(string name, ulong[] dims, GgmlType type, byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var bytes = ExpectedBytes(name, dims, type);
        if (bytes != (ulong)data.Length) throw new ArgumentException($"tensor '{name}' of {type} needs {bytes} bytes, got {data.Length}");
        _tensors.Add((name, dims, type, bytes, () => data));
        return this;
    }

    /// <summary>Adds a tensor whose float32 values are produced only when the file is written.</summary>
    public GgufWriter AddLazyTensor(string name, ulong[] dims, GgmlType type, Func<float[]> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var bytes = ExpectedBytes(name, dims, type);
        _tensors.Add((name, dims, type, bytes, () =>
        {
            var data = TensorCodec.Encode(type, values());
            return (ulong)data.Length == bytes ? data : throw new InvalidOperationException($"tensor '{name}' produced {data.Length} bytes, expected {bytes}");
        }));
        return this;
    }

    private ulong ExpectedBytes(string name, ulong[] dims, GgmlType type)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(dims);
        if (dims.Length is 0 or > 4 || dims.Any(d => d == 0)) throw new ArgumentException($"tensor '{name}' needs 1 to 4 non-zero dimensions");
        if (_tensors.Any(t => t.Name == name)) throw new ArgumentException($"tensor '{name}' is already added", nameof(name));
        var elements = dims.Aggregate(1UL, (a, d) => a * d);
        var row = GgmlTypeTraits.RowBytes(type, dims[0]) ?? throw new ArgumentException($"tensor '{name}': a row of {dims[0]} is not a whole number of {type} blocks");
        return row * (elements / dims[0]);
    }

    public void WriteTo(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var temp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
                Write(stream);
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    public void Write(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var alignment = _metadata.FirstOrDefault(kv => kv.Key == "general.alignment").Value?.Value as uint? ?? GgufReader.DefaultAlignment;
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write(GgufReader.Magic);
        w.Write(3u);
        w.Write((ulong)_tensors.Count);
        w.Write((ulong)_metadata.Count);
        foreach (var (key, value) in _metadata)
        {
            WriteString(w, key);
            w.Write((uint)value.Type);
            WriteValue(w, value);
        }
        ulong offset = 0;
        var offsets = new ulong[_tensors.Count];
        for (var i = 0; i < _tensors.Count; i++)
        {
            var (name, dims, type, bytes, _) = _tensors[i];
            WriteString(w, name);
            w.Write((uint)dims.Length);
            foreach (var d in dims) w.Write(d);
            w.Write((uint)type);
            offsets[i] = offset;
            w.Write(offset);
            offset = (ulong)GgufReader.AlignUp((long)(offset + bytes), alignment);
        }
        Pad(w, alignment);
        var dataStart = w.BaseStream.Position;
        for (var i = 0; i < _tensors.Count; i++)
        {
            Pad(w, dataStart + (long)offsets[i] - w.BaseStream.Position);
            w.Write(_tensors[i].Data());
        }
        Pad(w, alignment);
    }

    private static void Pad(BinaryWriter w, uint alignment) => Pad(w, GgufReader.AlignUp(w.BaseStream.Position, alignment) - w.BaseStream.Position);

    private static void Pad(BinaryWriter w, long count)
    {
        for (var i = 0L; i < count; i++) w.Write((byte)0);
    }

    private static void WriteString(BinaryWriter w, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }

    private static void WriteValue(BinaryWriter w, GgufValue value)
    {
        switch (value.Value)
        {
            case byte v: w.Write(v); break;
            case sbyte v: w.Write(v); break;
            case ushort v: w.Write(v); break;
            case short v: w.Write(v); break;
            case uint v: w.Write(v); break;
            case int v: w.Write(v); break;
            case float v: w.Write(v); break;
            case bool v: w.Write((byte)(v ? 1 : 0)); break;
            case string v: WriteString(w, v); break;
            case ulong v: w.Write(v); break;
            case long v: w.Write(v); break;
            case double v: w.Write(v); break;
            case GgufArray a:
                w.Write((uint)a.ElementType);
                w.Write((ulong)a.Items.Count);
                foreach (var item in a.Items) WriteValue(w, item);
                break;
            default: throw new InvalidOperationException($"unsupported GGUF value {value.Value.GetType()}");
        }
    }
}

using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SynthPipeline.Core;

namespace SynthPipeline.Training;

/// <summary>A float32 tensor by name, in row-major order.</summary>
public sealed record NamedTensor(string Name, long[] Shape, float[] Values);

/// <summary>
/// The safetensors format: an 8-byte little-endian header length, a JSON header of name → dtype, shape and byte range,
/// then the raw data. Reads F32, F16 and BF16 (as float32); writes F32. Writes are atomic.
/// </summary>
public static class Safetensors
{
    public static void Write(string path, IEnumerable<NamedTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var list = tensors.ToList();
        var header = new JsonObject();
        if (metadata is { Count: > 0 })
        {
            var meta = new JsonObject();
            foreach (var (k, v) in metadata) meta[k] = v;
            header["__metadata__"] = meta;
        }
        long offset = 0;
        foreach (var t in list)
        {
            if (t.Shape.Aggregate(1L, (a, d) => a * d) != t.Values.Length)
                throw new ArgumentException($"tensor '{t.Name}': shape [{string.Join(", ", t.Shape)}] does not hold {t.Values.Length} values");
            var end = offset + t.Values.Length * 4L;
            header[t.Name] = new JsonObject { ["dtype"] = "F32", ["shape"] = new JsonArray(t.Shape.Select(d => (JsonNode)d).ToArray()), ["data_offsets"] = new JsonArray(offset, end) };
            offset = end;
        }
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        var padded = (json.Length + 7) / 8 * 8;
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write))
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)padded);
            stream.Write(length);
            stream.Write(json);
            for (var i = json.Length; i < padded; i++) stream.WriteByte((byte)' ');
            foreach (var t in list) stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.Values.AsSpan()));
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
    }

    /// <exception cref="InvalidDataException">Not a valid safetensors file; the message names the defect.</exception>
    public static (IReadOnlyList<NamedTensor> Tensors, IReadOnlyDictionary<string, string> Metadata) Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 8) throw new UserErrorException($"'{path}' is too short to be a safetensors file");
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (headerLength > (ulong)bytes.Length - 8) throw new UserErrorException($"'{path}': header length {headerLength} exceeds the file");
        JsonObject header;
        try
        {
            header = JsonNode.Parse(bytes.AsSpan(8, (int)headerLength))!.AsObject();
        }
        catch (JsonException e)
        {
            throw new UserErrorException($"'{path}': the header is not valid JSON ({e.Message})");
        }
        var dataStart = 8 + (long)headerLength;
        var tensors = new List<NamedTensor>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, node) in header)
        {
            if (name == "__metadata__")
            {
                foreach (var (k, v) in node!.AsObject()) metadata[k] = v!.GetValue<string>();
                continue;
            }
            var dtype = node!["dtype"]!.GetValue<string>();
            var shape = node["shape"]!.AsArray().Select(d => d!.GetValue<long>()).ToArray();
            var range = node["data_offsets"]!.AsArray().Select(d => d!.GetValue<long>()).ToArray();
            var count = shape.Aggregate(1L, (a, d) => a * d);
            var size = dtype switch { "F32" => 4, "F16" or "BF16" => 2, _ => throw new UserErrorException($"'{path}': tensor '{name}' is {dtype}; F32, F16 and BF16 are read") };
            if (range[1] - range[0] != count * size || dataStart + range[1] > bytes.Length)
                throw new UserErrorException($"'{path}': tensor '{name}' has a byte range that does not match its shape or lies outside the file");
            var raw = bytes.AsSpan((int)(dataStart + range[0]), (int)(range[1] - range[0]));
            var values = new float[count];
            for (var i = 0; i < count; i++)
                values[i] = dtype switch
                {
                    "F32" => BinaryPrimitives.ReadSingleLittleEndian(raw[(i * 4)..]),
                    "F16" => (float)BinaryPrimitives.ReadHalfLittleEndian(raw[(i * 2)..]),
                    _ => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(raw[(i * 2)..]) << 16),
                };
            tensors.Add(new NamedTensor(name, shape, values));
        }
        return (tensors, metadata);
    }
}

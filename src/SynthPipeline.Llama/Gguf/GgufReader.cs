using System.Buffers.Binary;
using System.Text;
using SynthPipeline.Core;

namespace SynthPipeline.Llama.Gguf;

/// <summary>
/// Reads and fully validates a GGUF file's header, metadata and tensor table, and checks that every tensor's data
/// lies inside the file, before any native code sees it. Every defect is a <see cref="GgufFormatException"/>.
/// </summary>
public static class GgufReader
{
    public const uint Magic = 0x46554747; // "GGUF" little-endian
    public const uint DefaultAlignment = 32;
    private const int MaxDimensions = 4;
    private const int MaxArrayNesting = 8;

    /// <summary>Reads and validates <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="GgufFormatException">The file is not a valid GGUF file.</exception>
    public static GgufFile Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new UserErrorException($"GGUF file '{path}' does not exist");
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return new Cursor(path, stream).ReadFile();
    }

    private sealed class Cursor(string path, Stream stream)
    {
        private readonly long _length = stream.Length;
        private readonly byte[] _scratch = new byte[8];

        private long Position => stream.Position;

        private GgufFormatException Fail(string defect, long? at = null) => new(path, at ?? Position, defect);

        public GgufFile ReadFile()
        {
            if (_length < 4) throw Fail($"file is {_length} bytes, too short for the GGUF magic", 0);
            var magic = U32("magic");
            if (magic != Magic)
                throw Fail($"wrong magic 0x{magic:X8} ('{Printable(magic)}'), expected 'GGUF'", 0);
            var version = U32("version");
            if (version is < 2 or > 3) throw Fail($"unsupported GGUF version {version} (2 and 3 are supported)", 4);
            var tensorCount = U64("tensor count");
            var kvCount = U64("metadata count");
            // Every entry takes at least 8 bytes, so counts beyond the file size are corrupt, not just large.
            if (tensorCount > (ulong)_length / 8) throw Fail($"tensor count {tensorCount} is impossible for a {_length}-byte file", 8);
            if (kvCount > (ulong)_length / 8) throw Fail($"metadata count {kvCount} is impossible for a {_length}-byte file", 16);

            var metadata = new List<KeyValuePair<string, GgufValue>>((int)kvCount);
            var keys = new HashSet<string>(StringComparer.Ordinal);
            for (ulong i = 0; i < kvCount; i++)
            {
                var at = Position;
                var key = Str($"key of metadata entry {i}");
                if (!keys.Add(key)) throw Fail($"duplicate metadata key '{key}'", at);
                var type = (GgufValueType)U32($"type of '{key}'");
                metadata.Add(new(key, Value(type, key, 0)));
            }

            var alignment = DefaultAlignment;
            var alignmentEntry = metadata.FirstOrDefault(kv => kv.Key == "general.alignment").Value;
            if (alignmentEntry is not null)
            {
                if (alignmentEntry.Type != GgufValueType.UInt32) throw Fail($"general.alignment must be uint32, is {alignmentEntry.Type}");
                alignment = (uint)alignmentEntry.Value;
                if (alignment == 0 || (alignment & (alignment - 1)) != 0) throw Fail($"bad alignment {alignment}: general.alignment must be a power of two");
            }

            var tensors = new List<GgufTensorInfo>((int)tensorCount);
            var names = new HashSet<string>(StringComparer.Ordinal);
            for (ulong i = 0; i < tensorCount; i++) tensors.Add(TensorInfo(i, names, alignment));

            var dataOffset = AlignUp(Position, alignment);
            foreach (var t in tensors)
            {
                var end = (ulong)dataOffset + t.Offset + t.ByteSize;
                if (end > (ulong)_length)
                    throw Fail($"tensor '{t.Name}' data ends at byte {end}, past the end of the file ({_length} bytes); the file is truncated", dataOffset + (long)t.Offset);
            }
            return new GgufFile(path, version, metadata, tensors, alignment, dataOffset);
        }

        private GgufTensorInfo TensorInfo(ulong index, HashSet<string> names, uint alignment)
        {
            var at = Position;
            var name = Str($"name of tensor {index}");
            if (!names.Add(name)) throw Fail($"duplicate tensor name '{name}'", at);
            var nDims = U32($"dimension count of tensor '{name}'");
            if (nDims is 0 or > MaxDimensions) throw Fail($"tensor '{name}' has {nDims} dimensions (1 to {MaxDimensions} allowed)", at);
            var dims = new ulong[nDims];
            ulong elements = 1;
            for (var d = 0; d < nDims; d++)
            {
                dims[d] = U64($"dimension {d} of tensor '{name}'");
                if (dims[d] == 0) throw Fail($"tensor '{name}' has a zero-sized dimension {d}");
                elements = checked(elements * dims[d]);
            }
            var typeAt = Position;
            var type = (GgmlType)U32($"type of tensor '{name}'");
            if (!GgmlTypeTraits.IsKnown(type)) throw Fail($"tensor '{name}' has unknown tensor type {(uint)type}", typeAt);
            var offset = U64($"offset of tensor '{name}'");
            if (offset % alignment != 0) throw Fail($"tensor '{name}' offset {offset} is not a multiple of the alignment {alignment} (bad alignment)");
            var rowBytes = GgmlTypeTraits.RowBytes(type, dims[0])
                ?? throw Fail($"tensor '{name}' row of {dims[0]} elements is not a whole number of {type} blocks ({GgmlTypeTraits.BlockSize(type)})");
            var size = rowBytes * (elements / dims[0]);
            return new GgufTensorInfo(name, dims, type, offset, size);
        }

        private GgufValue Value(GgufValueType type, string key, int depth) => type switch
        {
            GgufValueType.UInt8 => GgufValue.Of(Bytes(1, key)[0]),
            GgufValueType.Int8 => GgufValue.Of((sbyte)Bytes(1, key)[0]),
            GgufValueType.UInt16 => GgufValue.Of(BinaryPrimitives.ReadUInt16LittleEndian(Bytes(2, key))),
            GgufValueType.Int16 => GgufValue.Of(BinaryPrimitives.ReadInt16LittleEndian(Bytes(2, key))),
            GgufValueType.UInt32 => GgufValue.Of(U32(key)),
            GgufValueType.Int32 => GgufValue.Of(BinaryPrimitives.ReadInt32LittleEndian(Bytes(4, key))),
            GgufValueType.Float32 => GgufValue.Of(BinaryPrimitives.ReadSingleLittleEndian(Bytes(4, key))),
            GgufValueType.Bool => Bool(key),
            GgufValueType.String => GgufValue.Of(Str(key)),
            GgufValueType.UInt64 => GgufValue.Of(U64(key)),
            GgufValueType.Int64 => GgufValue.Of(BinaryPrimitives.ReadInt64LittleEndian(Bytes(8, key))),
            GgufValueType.Float64 => GgufValue.Of(BinaryPrimitives.ReadDoubleLittleEndian(Bytes(8, key))),
            GgufValueType.Array => GgufValue.Of(Array(key, depth)),
            _ => throw Fail($"metadata '{key}' has unknown value type {(uint)type}", Position - 4),
        };

        private GgufValue Bool(string key)
        {
            var b = Bytes(1, key)[0];
            return b <= 1 ? GgufValue.Of(b == 1) : throw Fail($"metadata '{key}' has bool value {b} (0 or 1 expected)", Position - 1);
        }

        private GgufArray Array(string key, int depth)
        {
            if (depth >= MaxArrayNesting) throw Fail($"metadata '{key}' nests arrays deeper than {MaxArrayNesting}");
            var elementType = (GgufValueType)U32($"element type of '{key}'");
            if (!Enum.IsDefined(elementType)) throw Fail($"metadata '{key}' has unknown array element type {(uint)elementType}", Position - 4);
            var count = U64($"length of '{key}'");
            if (count > (ulong)(_length - Position)) throw Fail($"metadata '{key}' array length {count} runs past the end of the file");
            var items = new List<GgufValue>((int)count);
            for (ulong i = 0; i < count; i++) items.Add(Value(elementType, key, depth + 1));
            return new GgufArray(elementType, items);
        }

        private string Str(string what)
        {
            var at = Position;
            var len = U64($"length of {what}");
            if (len > (ulong)(_length - Position))
                throw Fail($"string length {len} of {what} runs past the end of the file ({_length - Position} bytes left)", at);
            var bytes = new byte[len];
            stream.ReadExactly(bytes);
            try
            {
                return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
            }
            catch (DecoderFallbackException)
            {
                throw Fail($"{what} is not valid UTF-8", at);
            }
        }

        private uint U32(string what) => BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4, what));

        private ulong U64(string what) => BinaryPrimitives.ReadUInt64LittleEndian(Bytes(8, what));

        private Span<byte> Bytes(int n, string what)
        {
            if (Position + n > _length) throw Fail($"truncated: the file ends while reading the {what}");
            var span = _scratch.AsSpan(0, n);
            stream.ReadExactly(span);
            return span;
        }

        private static string Printable(uint magic) =>
            new(BitConverter.GetBytes(magic).Select(b => b is >= 32 and < 127 ? (char)b : '.').ToArray());
    }

    internal static long AlignUp(long value, uint alignment) => (value + alignment - 1) / alignment * alignment;
}

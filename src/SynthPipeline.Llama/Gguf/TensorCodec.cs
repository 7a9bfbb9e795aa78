using System.Buffers.Binary;

namespace SynthPipeline.Llama.Gguf;

/// <summary>Encodes float32 values to F32, F16, BF16 and Q8_0 tensor data and decodes them back.</summary>
public static class TensorCodec
{
    private const int Q8Block = 32;
    private const int Q8BlockBytes = 34;

    public static bool CanEncode(GgmlType type) => type is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 or GgmlType.Q8_0;

    public static byte[] Encode(GgmlType type, ReadOnlySpan<float> values) => type switch
    {
        GgmlType.F32 => EncodeF32(values),
        GgmlType.F16 => EncodeF16(values),
        GgmlType.BF16 => EncodeBf16(values),
        GgmlType.Q8_0 => EncodeQ8_0(values),
        _ => throw new NotSupportedException($"encoding to {type} is not supported (F32, F16, BF16, Q8_0 are)"),
    };

    public static float[] Decode(GgmlType type, ReadOnlySpan<byte> data, int count)
    {
        var result = new float[count];
        switch (type)
        {
            case GgmlType.F32:
                for (var i = 0; i < count; i++) result[i] = BinaryPrimitives.ReadSingleLittleEndian(data[(i * 4)..]);
                break;
            case GgmlType.F16:
                for (var i = 0; i < count; i++) result[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(data[(i * 2)..]);
                break;
            case GgmlType.BF16:
                for (var i = 0; i < count; i++) result[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(data[(i * 2)..]) << 16);
                break;
            case GgmlType.Q8_0:
                for (var b = 0; b < count / Q8Block; b++)
                {
                    var block = data.Slice(b * Q8BlockBytes, Q8BlockBytes);
                    var d = (float)BinaryPrimitives.ReadHalfLittleEndian(block);
                    for (var j = 0; j < Q8Block; j++) result[b * Q8Block + j] = d * (sbyte)block[2 + j];
                }
                break;
            default:
                throw new NotSupportedException($"decoding {type} is not supported (F32, F16, BF16, Q8_0 are)");
        }
        return result;
    }

    private static byte[] EncodeF32(ReadOnlySpan<float> values)
    {
        var bytes = new byte[values.Length * 4];
        for (var i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        return bytes;
    }

    // In parallel chunks: a random 8B model converts 8 billion values before llama.cpp quantizes them.
    private static unsafe byte[] EncodeF16(ReadOnlySpan<float> values)
    {
        var bytes = new byte[values.Length * 2];
        const int chunk = 1 << 20;
        fixed (float* source = values)
        {
            var address = (nint)source;
            var length = values.Length;
            Parallel.For(0, (length + chunk - 1) / chunk, c =>
            {
                var start = c * chunk;
                var from = new ReadOnlySpan<float>((float*)address + start, Math.Min(chunk, length - start));
                var to = bytes.AsSpan(start * 2);
                for (var i = 0; i < from.Length; i++) BinaryPrimitives.WriteHalfLittleEndian(to[(i * 2)..], (Half)from[i]);
            });
        }
        return bytes;
    }

    // Round to nearest even, as ggml's fp32->bf16 conversion does; NaN stays a quiet NaN.
    private static byte[] EncodeBf16(ReadOnlySpan<float> values)
    {
        var bytes = new byte[values.Length * 2];
        for (var i = 0; i < values.Length; i++)
        {
            var u = (uint)BitConverter.SingleToInt32Bits(values[i]);
            ushort h = (u & 0x7fffffff) > 0x7f800000 ? (ushort)((u >> 16) | 64) : (ushort)((u + (0x7fff + ((u >> 16) & 1))) >> 16);
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(i * 2), h);
        }
        return bytes;
    }

    // ggml's reference quantize_row_q8_0: d = amax/127, q = round(x/d).
    private static byte[] EncodeQ8_0(ReadOnlySpan<float> values)
    {
        if (values.Length % Q8Block != 0) throw new ArgumentException($"Q8_0 needs a multiple of {Q8Block} values, got {values.Length}");
        var blocks = values.Length / Q8Block;
        var bytes = new byte[blocks * Q8BlockBytes];
        for (var b = 0; b < blocks; b++)
        {
            var x = values.Slice(b * Q8Block, Q8Block);
            var amax = 0f;
            foreach (var v in x) amax = MathF.Max(amax, MathF.Abs(v));
            var d = amax / 127f;
            var id = d != 0 ? 1f / d : 0f;
            var block = bytes.AsSpan(b * Q8BlockBytes, Q8BlockBytes);
            BinaryPrimitives.WriteHalfLittleEndian(block, (Half)d);
            for (var j = 0; j < Q8Block; j++) block[2 + j] = (byte)(sbyte)MathF.Round(x[j] * id);
        }
        return bytes;
    }
}

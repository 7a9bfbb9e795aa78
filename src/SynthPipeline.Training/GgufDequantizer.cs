using System.Buffers.Binary;
using SynthPipeline.Llama.Gguf;

namespace SynthPipeline.Training;

/// <summary>
/// GGUF tensor data to float32 for base weights: F32, F16, BF16, Q8_0 (through the GGUF codec) and Q4_0, Q4_K and
/// Q6_K, decoded exactly as ggml's dequantize_row_* do (same block layouts, same order of float operations).
/// </summary>
public static class GgufDequantizer
{
    private const int Qk4_0 = 32, BlockQ4_0 = 18, QkK = 256, BlockQ4K = 144, BlockQ6K = 210;

    public static float[] Dequantize(GgufTensorInfo tensor, ReadOnlySpan<byte> data)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var count = checked((int)tensor.ElementCount);
        if (TensorCodec.CanEncode(tensor.Type)) return TensorCodec.Decode(tensor.Type, data, count);
        return tensor.Type switch
        {
            GgmlType.Q4_0 => Q4_0(data, count),
            GgmlType.Q4_K => Q4K(data, count),
            GgmlType.Q6_K => Q6K(data, count),
            _ => throw new NotSupportedException($"tensor '{tensor.Name}' is {tensor.Type}; the trainer reads F32, F16, BF16, Q8_0, Q4_0, Q4_K and Q6_K"),
        };
    }

    public static float[] Q4_0(ReadOnlySpan<byte> data, int count)
    {
        Check(data, count, Qk4_0, BlockQ4_0, "Q4_0");
        var y = new float[count];
        for (var i = 0; i < count / Qk4_0; i++)
        {
            var block = data.Slice(i * BlockQ4_0, BlockQ4_0);
            var d = Half(block);
            for (var j = 0; j < Qk4_0 / 2; j++)
            {
                y[i * Qk4_0 + j] = ((block[2 + j] & 0x0F) - 8) * d;
                y[i * Qk4_0 + j + Qk4_0 / 2] = ((block[2 + j] >> 4) - 8) * d;
            }
        }
        return y;
    }

    public static float[] Q4K(ReadOnlySpan<byte> data, int count)
    {
        Check(data, count, QkK, BlockQ4K, "Q4_K");
        var y = new float[count];
        var o = 0;
        for (var i = 0; i < count / QkK; i++)
        {
            var block = data.Slice(i * BlockQ4K, BlockQ4K);
            var d = Half(block);
            var min = Half(block[2..]);
            var scales = block.Slice(4, 12);
            var q = block[16..];
            var isc = 0;
            for (var j = 0; j < QkK; j += 64)
            {
                var (sc, m) = ScaleMin(isc, scales);
                float d1 = d * sc, m1 = min * m;
                (sc, m) = ScaleMin(isc + 1, scales);
                float d2 = d * sc, m2 = min * m;
                for (var l = 0; l < 32; l++) y[o++] = d1 * (q[l] & 0xF) - m1;
                for (var l = 0; l < 32; l++) y[o++] = d2 * (q[l] >> 4) - m2;
                q = q[32..];
                isc += 2;
            }
        }
        return y;
    }

    public static float[] Q6K(ReadOnlySpan<byte> data, int count)
    {
        Check(data, count, QkK, BlockQ6K, "Q6_K");
        var y = new float[count];
        for (var i = 0; i < count / QkK; i++)
        {
            var block = data.Slice(i * BlockQ6K, BlockQ6K);
            var ql = block[..128];
            var qh = block.Slice(128, 64);
            var sc = block.Slice(192, 16);
            var d = Half(block[208..]);
            var o = i * QkK;
            for (var n = 0; n < QkK; n += 128)
            {
                for (var l = 0; l < 32; l++)
                {
                    var s = l / 16;
                    var q1 = (sbyte)((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                    var q2 = (sbyte)((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                    var q3 = (sbyte)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                    var q4 = (sbyte)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                    y[o + l] = d * (sbyte)sc[s] * q1;
                    y[o + l + 32] = d * (sbyte)sc[s + 2] * q2;
                    y[o + l + 64] = d * (sbyte)sc[s + 4] * q3;
                    y[o + l + 96] = d * (sbyte)sc[s + 6] * q4;
                }
                o += 128;
                ql = ql[64..];
                qh = qh[32..];
                sc = sc[8..];
            }
        }
        return y;
    }

    private static (int Scale, int Min) ScaleMin(int j, ReadOnlySpan<byte> q) => j < 4
        ? (q[j] & 63, q[j + 4] & 63)
        : ((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4), (q[j + 4] >> 4) | ((q[j] >> 6) << 4));

    private static float Half(ReadOnlySpan<byte> b) => (float)BinaryPrimitives.ReadHalfLittleEndian(b);

    private static void Check(ReadOnlySpan<byte> data, int count, int block, int blockBytes, string type)
    {
        if (count % block != 0) throw new InvalidDataException($"{type} holds whole blocks of {block} values; {count} is not a multiple");
        if (data.Length != count / block * blockBytes) throw new InvalidDataException($"{type} data of {count} values must be {count / block * blockBytes} bytes, not {data.Length}");
    }
}

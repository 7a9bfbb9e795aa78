using System.Buffers.Binary;
using SynthPipeline.Llama.Gguf;
using SynthPipeline.Core;

namespace SynthPipeline.Training;

/// <summary>
/// GGUF tensor data to float32 for base weights: F32, F16, BF16, Q8_0 (through the GGUF codec) and Q4_0, Q4_K and
/// Q6_K, decoded exactly as ggml's dequantize_row_* do (same block layouts, same order of float operations).
/// </summary>
public static unsafe class GgufDequantizer
{
    /// <summary>Blocks decoded per parallel work item: big enough that scheduling costs nothing next to decoding.</summary>
    private const int BlocksPerItem = 4096;

    /// <summary>Decodes straight into <paramref name="destination"/> (for example a torch tensor's memory), in parallel over blocks.</summary>
    public static void DequantizeInto(GgufTensorInfo tensor, ReadOnlySpan<byte> data, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var count = checked((int)tensor.ElementCount);
        if (destination.Length != count) throw new ArgumentException($"destination holds {destination.Length} values, tensor '{tensor.Name}' has {count}");
        var (block, bytes) = tensor.Type switch
        {
            GgmlType.Q4_0 => (Qk4_0, BlockQ4_0),
            GgmlType.Q4_K => (QkK, BlockQ4K),
            GgmlType.Q6_K => (QkK, BlockQ6K),
            _ => (0, 0),
        };
        if (block == 0)
        {
            if (!TensorCodec.CanEncode(tensor.Type))
                throw new UserErrorException($"tensor '{tensor.Name}' is {tensor.Type}; the trainer reads F32, F16, BF16, Q8_0, Q4_0, Q4_K and Q6_K");
            TensorCodec.Decode(tensor.Type, data, count).CopyTo(destination);
            return;
        }
        Check(data, count, block, bytes, tensor.Type.ToString());
        var blocks = count / block;
        var type = tensor.Type;
        fixed (byte* src = data)
        fixed (float* dst = destination)
        {
            var (s, d) = ((nint)src, (nint)dst);
            Parallel.For(0, (blocks + BlocksPerItem - 1) / BlocksPerItem, item =>
            {
                var first = item * BlocksPerItem;
                var n = Math.Min(BlocksPerItem, blocks - first);
                var input = new ReadOnlySpan<byte>((byte*)s + (long)first * bytes, n * bytes);
                var output = new Span<float>((float*)d + (long)first * block, n * block);
                switch (type)
                {
                    case GgmlType.Q4_0: DecodeQ4_0(input, output); break;
                    case GgmlType.Q4_K: DecodeQ4K(input, output); break;
                    default: DecodeQ6K(input, output); break;
                }
            });
        }
    }

    private const int Qk4_0 = 32, BlockQ4_0 = 18, QkK = 256, BlockQ4K = 144, BlockQ6K = 210;

    public static float[] Dequantize(GgufTensorInfo tensor, ReadOnlySpan<byte> data)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var values = new float[checked((int)tensor.ElementCount)];
        DequantizeInto(tensor, data, values);
        return values;
    }

    private static void DecodeQ4_0(ReadOnlySpan<byte> data, Span<float> y)
    {
        var count = y.Length;
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
    }

    private static void DecodeQ4K(ReadOnlySpan<byte> data, Span<float> y)
    {
        fixed (byte* src = data)
        fixed (float* dst = y)
        {
            var o = dst;
            for (var i = 0; i < y.Length / QkK; i++)
            {
                var block = src + i * BlockQ4K;
                var d = (float)*(Half*)block;
                var min = (float)*(Half*)(block + 2);
                var scales = block + 4;
                var q = block + 16;
                for (var j = 0; j < 4; j++)
                {
                    var (sc, m) = ScaleMin(2 * j, scales);
                    float d1 = d * sc, m1 = min * m;
                    (sc, m) = ScaleMin(2 * j + 1, scales);
                    float d2 = d * sc, m2 = min * m;
                    for (var l = 0; l < 32; l++) o[l] = d1 * (q[l] & 0xF) - m1;
                    for (var l = 0; l < 32; l++) o[32 + l] = d2 * (q[l] >> 4) - m2;
                    o += 64;
                    q += 32;
                }
            }
        }
    }

    private static (int Scale, int Min) ScaleMin(int j, byte* q) => j < 4
        ? (q[j] & 63, q[j + 4] & 63)
        : ((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4), (q[j + 4] >> 4) | ((q[j] >> 6) << 4));

    private static void DecodeQ6K(ReadOnlySpan<byte> data, Span<float> y)
    {
        fixed (byte* src = data)
        fixed (float* dst = y)
        {
            for (var i = 0; i < y.Length / QkK; i++)
            {
                var block = src + i * BlockQ6K;
                var ql = block;
                var qh = block + 128;
                var sc = (sbyte*)(block + 192);
                var d = (float)*(Half*)(block + 208);
                var o = dst + i * QkK;
                for (var n = 0; n < QkK; n += 128)
                {
                    for (var l = 0; l < 32; l++)
                    {
                        var s = l / 16;
                        var q1 = (sbyte)((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                        var q2 = (sbyte)((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                        var q3 = (sbyte)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                        var q4 = (sbyte)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                        o[l] = d * sc[s] * q1;
                        o[l + 32] = d * sc[s + 2] * q2;
                        o[l + 64] = d * sc[s + 4] * q3;
                        o[l + 96] = d * sc[s + 6] * q4;
                    }
                    o += 128;
                    ql += 64;
                    qh += 32;
                    sc += 8;
                }
            }
        }
    }

    private static float Half(ReadOnlySpan<byte> b) => (float)BinaryPrimitives.ReadHalfLittleEndian(b);

    private static void Check(ReadOnlySpan<byte> data, int count, int block, int blockBytes, string type)
    {
        if (count % block != 0) throw new InvalidDataException($"{type} holds whole blocks of {block} values; {count} is not a multiple");
        if (data.Length != count / block * blockBytes) throw new InvalidDataException($"{type} data of {count} values must be {count / block * blockBytes} bytes, not {data.Length}");
    }
}

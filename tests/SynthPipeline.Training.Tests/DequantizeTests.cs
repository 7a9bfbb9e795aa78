using System.Runtime.InteropServices;
using SynthPipeline.Llama.Gguf;
using SynthPipeline.Llama.Native;

namespace SynthPipeline.Training.Tests;

/// <summary>The trainer's dequantizers against ggml's own: ggml quantizes random values, both decode the bytes.</summary>
public sealed unsafe class DequantizeTests
{
    private static nint GgmlBase()
    {
        LlamaLibrary.Initialize();
        return NativeLibrary.Load(Path.Combine(LlamaLibrary.Directory!, "libggml-base.so"));
    }

    [Theory]
    [InlineData(GgmlType.Q4_0)]
    [InlineData(GgmlType.Q4_K)]
    [InlineData(GgmlType.Q6_K)]
    [InlineData(GgmlType.Q8_0)]
    public void Dequantize_GgmlQuantizedRandomWeights_SameFloatsAsGgml(GgmlType type)
    {
        var lib = GgmlBase();
        var quantize = (delegate* unmanaged[Cdecl]<int, float*, void*, long, long, long, float*, nuint>)NativeLibrary.GetExport(lib, "ggml_quantize_chunk");
        var traits = (delegate* unmanaged[Cdecl]<int, nint>)NativeLibrary.GetExport(lib, "ggml_get_type_traits");
        // struct ggml_type_traits { const char* type_name; int64 blck_size; int64 blck_size_interleave; size_t type_size;
        //                           bool is_quantized; to_float; from_float_ref }: to_float is at offset 40.
        var toFloat = *(delegate* unmanaged[Cdecl]<void*, float*, long, void>*)(traits((int)type) + 40);

        const int rows = 4, perRow = 512;
        var rng = new Random((int)type);
        var values = Enumerable.Range(0, rows * perRow).Select(_ => (float)(rng.NextDouble() * 2 - 1) * (rng.Next(10) == 0 ? 8 : 1)).ToArray();
        var (block, bytes) = GgmlTypeTraits(type);
        var data = new byte[rows * perRow / block * bytes];
        var expected = new float[values.Length];
        fixed (float* src = values)
        fixed (byte* dst = data)
        fixed (float* exp = expected)
        {
            var written = quantize((int)type, src, dst, 0, rows, perRow, null);
            Assert.Equal((nuint)data.Length, written);
            toFloat(dst, exp, values.Length);
        }

        var info = new GgufTensorInfo("w", [perRow, rows], type, 0, (ulong)data.Length);
        var actual = GgufDequantizer.Dequantize(info, data);

        Assert.Equal(expected, actual);
        // And the quantization was real: the values changed, but stayed close.
        Assert.NotEqual(values, actual);
        Assert.True(values.Zip(actual).Max(p => Math.Abs(p.First - p.Second)) < 1.0);
    }

    private static (int Block, int Bytes) GgmlTypeTraits(GgmlType type) => type switch
    {
        GgmlType.Q4_0 => (32, 18),
        GgmlType.Q8_0 => (32, 34),
        GgmlType.Q4_K => (256, 144),
        GgmlType.Q6_K => (256, 210),
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };
}

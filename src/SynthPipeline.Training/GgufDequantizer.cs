using SynthPipeline.Llama.Gguf;

namespace SynthPipeline.Training;

/// <summary>GGUF tensor data to float32, for the types the trainer reads base weights in.</summary>
public static class GgufDequantizer
{
    public static float[] Dequantize(GgufTensorInfo tensor, ReadOnlySpan<byte> data)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var count = checked((int)tensor.ElementCount);
        if (TensorCodec.CanEncode(tensor.Type)) return TensorCodec.Decode(tensor.Type, data, count);
        throw new NotSupportedException($"tensor '{tensor.Name}' is {tensor.Type}; the trainer reads F32, F16, BF16 and Q8_0");
    }
}

using SynthPipeline.Llama.Gguf;
using TorchSharp;
using static TorchSharp.torch;
using SynthPipeline.Core;

namespace SynthPipeline.Training;

/// <summary>
/// A Llama-family decoder in TorchSharp with weights taken from a GGUF file: RMSNorm, RoPE, grouped-query attention,
/// SwiGLU, optional q/k/v bias (Qwen2) and tied embeddings. Weights keep GGUF's layout, whose q/k rows are permuted for
/// llama.cpp's rotation of adjacent pairs, so RoPE rotates adjacent pairs here too. Base weights are frozen float32.
/// </summary>
public sealed class LlamaTransformer : IDisposable
{
    private readonly DisposeScope _scope;
    private readonly Tensor _cos, _sin;

    private LlamaTransformer(LlamaConfig config, Dictionary<string, Tensor> weights, Device device, DisposeScope scope, Tensor cos, Tensor sin)
    {
        Config = config;
        Weights = weights;
        Device = device;
        _scope = scope;
        _cos = cos;
        _sin = sin;
    }

    public LlamaConfig Config { get; }

    public Device Device { get; }

    /// <summary>The compute type of the weights: float32, or bfloat16 on a GPU.</summary>
    public ScalarType DType => Weights["token_embd.weight"].dtype;

    /// <summary>GGUF tensor name → float32 tensor in PyTorch order (GGUF dimensions reversed).</summary>
    public IReadOnlyDictionary<string, Tensor> Weights { get; }

    /// <summary>Loads base weights from GGUF (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K are dequantized to float32).</summary>
    public static LlamaTransformer Load(GgufFile gguf, Device? device = null, ScalarType dtype = ScalarType.Float32)
    {
        ArgumentNullException.ThrowIfNull(gguf);
        var config = LlamaConfig.FromGguf(gguf);
        return Create(config, gguf.Tensors.Select(info => (info.Name, info.Dimensions.Reverse().Select(d => checked((long)d)).ToArray(),
            (Fill)(span => GgufDequantizer.DequantizeInto(info, gguf.ReadTensorBytes(info), span)))), gguf.Path, device, dtype);
    }

    /// <summary>Loads a Hugging Face checkpoint folder (config.json + model.safetensors), mapped to GGUF names and layout.</summary>
    public static LlamaTransformer LoadHuggingFace(string folder, Device? device = null, ScalarType dtype = ScalarType.Float32)
    {
        var (config, tensors) = HuggingFaceCheckpoint.Read(folder);
        return Create(config, tensors.Select(t => (t.Name, t.Shape, (Fill)(span => t.Values.CopyTo(span)))), folder, device, dtype);
    }

    /// <summary>A tensor to create: its GGUF name, torch shape, and how to fill its float32 memory.</summary>
    private delegate void Fill(Span<float> destination);

    private static LlamaTransformer Create(LlamaConfig config, IEnumerable<(string Name, long[] Shape, Fill Fill)> tensors, string source, Device? device, ScalarType dtype)
    {
        device ??= CPU;
        var scope = NewDisposeScope();
        try
        {
            var weights = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (var (name, shape, fill) in tensors)
            {
                // Decoded straight into the tensor's memory: a float[] plus TorchSharp's copy of it took 25 s for a 1B model.
                var t = empty(shape, ScalarType.Float32);
                fill(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(t.bytes));
                // Everything takes the compute type except the RoPE factors, which feed the float64 angle tables.
                var type = name == "rope_freqs.weight" ? ScalarType.Float32 : dtype;
                weights[name] = (type == ScalarType.Float32 && device.type == DeviceType.CPU ? t : t.to(type).to(device)).MoveToOuterDisposeScope();
            }
            foreach (var required in new[] { "token_embd.weight", "output_norm.weight" })
                if (!weights.ContainsKey(required)) throw new UserErrorException($"'{source}' lacks the tensor {required}");
            for (var l = 0; l < config.BlockCount; l++)
            {
                var q = weights.GetValueOrDefault($"blk.{l}.attn_q.weight") ?? throw new UserErrorException($"'{source}' lacks blk.{l}.attn_q.weight");
                if (q.shape[1] != config.EmbeddingLength || q.shape[0] != config.HeadCount * config.HeadDimension)
                    throw new UserErrorException($"'{source}': blk.{l}.attn_q.weight has shape [{string.Join(", ", q.shape)}], expected [{config.HeadCount * config.HeadDimension}, {config.EmbeddingLength}]");
            }
            var (cos, sin) = RopeTables(config, weights.GetValueOrDefault("rope_freqs.weight"), device);
            return new LlamaTransformer(config, weights, device, scope, cos.MoveToOuterDisposeScope(), sin.MoveToOuterDisposeScope());
        }
        catch
        {
            scope.Dispose();
            throw;
        }
    }

    /// <summary>Logits [batch, time, vocab] for token ids [batch, time], causal, positions from 0.</summary>
    public Tensor Forward(Tensor tokens, Func<string, Tensor, Tensor, Tensor>? adapt = null)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        using var scope = NewDisposeScope();
        var c = Config;
        var (batch, time) = (tokens.shape[0], tokens.shape[1]);
        var x = Weights["token_embd.weight"].index_select(0, tokens.to(Device).flatten()).view(batch, time, c.EmbeddingLength);
        for (var l = 0; l < c.BlockCount; l++)
        {
            var p = $"blk.{l}.";
            var h = RmsNorm(x, Weights[p + "attn_norm.weight"]);
            var q = Linear(p + "attn_q", h, adapt).view(batch, time, c.HeadCount, c.HeadDimension);
            var k = Linear(p + "attn_k", h, adapt).view(batch, time, c.HeadCountKv, c.HeadDimension);
            var v = Linear(p + "attn_v", h, adapt).view(batch, time, c.HeadCountKv, c.HeadDimension);
            q = Rope(q, time).transpose(1, 2);
            k = Rope(k, time).transpose(1, 2);
            v = v.transpose(1, 2);
            if (c.HeadCountKv != c.HeadCount)
            {
                k = k.repeat_interleave(c.HeadCount / c.HeadCountKv, dim: 1);
                v = v.repeat_interleave(c.HeadCount / c.HeadCountKv, dim: 1);
            }
            // PyTorch's fused attention (flash on CUDA in bf16) never materialises the [time, time] scores: on an H100 the
            // explicit product ran at half PEFT's tokens/s with 3.5x its memory (bench/results/trainer-gpu.md).
            var attended = nn.functional.scaled_dot_product_attention(q, k, v, null, 0, is_casual: true)
                .transpose(1, 2).reshape(batch, time, c.HeadCount * c.HeadDimension);
            x = x + Linear(p + "attn_output", attended, adapt);
            h = RmsNorm(x, Weights[p + "ffn_norm.weight"]);
            var gated = nn.functional.silu(Linear(p + "ffn_gate", h, adapt)) * Linear(p + "ffn_up", h, adapt);
            x = x + Linear(p + "ffn_down", gated, adapt);
        }
        x = RmsNorm(x, Weights["output_norm.weight"]);
        var head = Weights.GetValueOrDefault("output.weight") ?? Weights["token_embd.weight"];
        return x.matmul(head.t()).to(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <summary>x·Wᵀ (+ bias) for the GGUF tensor <c>{name}.weight</c>; <paramref name="adapt"/> may add a LoRA term.</summary>
    private Tensor Linear(string name, Tensor x, Func<string, Tensor, Tensor, Tensor>? adapt)
    {
        var y = x.matmul(Weights[name + ".weight"].t());
        if (Weights.TryGetValue(name + ".bias", out var bias)) y = y + bias;
        return adapt is null ? y : adapt(name, x, y);
    }

    /// <summary>RMSNorm, computed in float32 whatever the compute type (bf16 loses too much in the mean of squares).</summary>
    private Tensor RmsNorm(Tensor x, Tensor weight)
    {
        var f = x.to(ScalarType.Float32);
        return (f * (f.pow(2).mean([-1L], keepdim: true) + Config.RmsEpsilon).rsqrt()).to(x.dtype) * weight;
    }

    /// <summary>
    /// Rotates by position × θᵢ: adjacent pairs (x[2i], x[2i+1]) for Llama's GGUF weights, or halves (x[i], x[i+d/2])
    /// for NeoX-style models such as Qwen2, as llama.cpp does for each.
    /// </summary>
    private Tensor Rope(Tensor x, long time)
    {
        var d = Config.RopeDimensions;
        var shape = x.shape;
        var cos = _cos[..(int)time].view(1, time, 1, d / 2).to(x.dtype);
        var sin = _sin[..(int)time].view(1, time, 1, d / 2).to(x.dtype);
        Tensor rotated;
        if (Config.NeoxRope)
        {
            var x0 = x[.., .., .., ..(d / 2)];
            var x1 = x[.., .., .., (d / 2)..d];
            rotated = cat([x0 * cos - x1 * sin, x0 * sin + x1 * cos], dim: -1);
        }
        else
        {
            var pairs = x[.., .., .., ..d].reshape(shape[0], shape[1], shape[2], d / 2, 2);
            var x0 = pairs[.., .., .., .., 0];
            var x1 = pairs[.., .., .., .., 1];
            rotated = stack([x0 * cos - x1 * sin, x0 * sin + x1 * cos], dim: -1).reshape(shape[0], shape[1], shape[2], d);
        }
        return d == shape[3] ? rotated : cat([rotated, x[.., .., .., d..]], dim: -1);
    }

    private static (Tensor Cos, Tensor Sin) RopeTables(LlamaConfig c, Tensor? factors, Device device)
    {
        var half = c.RopeDimensions / 2;
        var theta = pow(c.RopeFreqBase, arange(0, half, dtype: ScalarType.Float64) * (-2.0 / c.RopeDimensions));
        // Llama 3 stores its frequency scaling as rope_freqs.weight: llama.cpp divides θ by it.
        if (factors is not null) theta = theta / factors.to(ScalarType.Float64).cpu();
        var positions = arange(0, c.ContextLength, dtype: ScalarType.Float64).unsqueeze(1);
        var angles = positions * theta.unsqueeze(0);
        return (angles.cos().to(ScalarType.Float32).to(device), angles.sin().to(ScalarType.Float32).to(device));
    }

    public void Dispose()
    {
        _scope.Dispose();
    }
}

using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SynthPipeline.Training;

/// <summary>
/// LoRA matrices for every targeted projection of every block: y += scale · dropout(x)·Aᵀ·Bᵀ, A [rank, in] initialised
/// like nn.Linear (Kaiming uniform), B [out, rank] zero, so training starts from the base model exactly.
/// </summary>
public sealed class LoraWeights : IDisposable
{
    private readonly Dictionary<string, (Parameter A, Parameter B)> _pairs = new(StringComparer.Ordinal);

    public LoraWeights(LlamaTransformer model, LoraOptions options, long seed)
    {
        ArgumentNullException.ThrowIfNull(model);
        Options = (options ?? throw new ArgumentNullException(nameof(options))).Validate();
        var generator = new Generator((ulong)seed);
        for (var l = 0; l < model.Config.BlockCount; l++)
        {
            foreach (var target in options.Targets)
            {
                var name = $"blk.{l}.{target}";
                var weight = model.Weights[name + ".weight"];
                var (outFeatures, inFeatures) = (weight.shape[0], weight.shape[1]);
                var bound = 1.0 / Math.Sqrt(inFeatures);
                var a = (rand([options.Rank, inFeatures], generator: generator) * (2 * bound) - bound).to(model.Device);
                var b = zeros(outFeatures, options.Rank, device: model.Device);
                _pairs[name] = (new Parameter(a, requires_grad: true), new Parameter(b, requires_grad: true));
                a.Dispose();
                b.Dispose();
            }
        }
    }

    public LoraOptions Options { get; }

    /// <summary>Module name ("blk.3.attn_q") → (A, B).</summary>
    public IReadOnlyDictionary<string, (Parameter A, Parameter B)> Pairs => _pairs;

    public IEnumerable<Parameter> Parameters => _pairs.Values.SelectMany(p => new[] { p.A, p.B });

    /// <summary>Adds the adapter's term to a projection's output; <paramref name="training"/> turns dropout on.</summary>
    public Func<string, Tensor, Tensor, Tensor> Adapter(bool training) => (name, x, y) =>
    {
        if (!_pairs.TryGetValue(name, out var pair)) return y;
        // The adapter stays float32 even when the base computes in bf16.
        var input = x.to(pair.A.dtype);
        if (training && Options.Dropout > 0) input = nn.functional.dropout(input, Options.Dropout, training: true);
        return y + (input.matmul(pair.A.t()).matmul(pair.B.t()) * Options.Scale).to(y.dtype);
    };

    public void Dispose()
    {
        foreach (var (a, b) in _pairs.Values)
        {
            a.Dispose();
            b.Dispose();
        }
    }
}

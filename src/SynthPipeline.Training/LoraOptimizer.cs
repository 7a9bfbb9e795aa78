using System.Globalization;
using TorchSharp.Modules;
using static TorchSharp.torch;
using SynthPipeline.Core;

namespace SynthPipeline.Training;

/// <summary>
/// AdamW over a LoRA adapter's matrices (decoupled weight decay, global-norm clipping), written out so that its moments
/// are checkpointed exactly; shared by the SFT and DPO trainers. <see cref="Step"/> counts the updates applied.
/// </summary>
public sealed class LoraOptimizer(LoraWeights lora, TrainerOptions options)
{
    private const float Beta1 = 0.9f, Beta2 = 0.999f, Epsilon = 1e-8f;
    private readonly Dictionary<string, (Tensor M, Tensor V)> _moments = [];

    public int Step { get; private set; }

    // The moments of all adapter tensors live in two flat buffers, and _moments holds views into them (by name, for
    // checkpoints). One step is then a handful of kernels over every parameter at once instead of a dozen per tensor:
    // with 128 adapter tensors the per-tensor loop launched about 2,000 small kernels per step, as PyTorch's foreach
    // AdamW avoids.
    private Tensor? _flatM, _flatV;

    public void Apply(double lr)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var parameters = lora.Pairs.SelectMany(p => new[] { ($"{p.Key}.lora_a", p.Value.A), ($"{p.Key}.lora_b", p.Value.B) })
            .Where(p => p.Item2.grad is not null).ToList();
        if (parameters.Count == 0)
        {
            Step++;
            return;
        }
        EnsureFlatMoments(parameters);
        var g = cat(parameters.Select(p => p.Item2.grad!.flatten()).ToArray());
        // Clip by the global norm of all gradients, read back once.
        var norm = g.norm().item<float>();
        var clip = options.MaxGradNorm > 0 && norm > options.MaxGradNorm ? options.MaxGradNorm / (norm + 1e-6) : 1.0;
        var t = Step + 1;
        var correction1 = 1 - Math.Pow(Beta1, t);
        var correction2 = 1 - Math.Pow(Beta2, t);
        if (clip != 1.0) g.mul_(clip);
        _flatM!.mul_(Beta1).add_(g, alpha: 1 - Beta1);
        _flatV!.mul_(Beta2).addcmul_(g, g, value: 1 - Beta2);
        var update = (_flatM / correction1).div_((_flatV / correction2).sqrt_().add_(Epsilon)).mul_(-lr);
        long offset = 0;
        foreach (var (_, p) in parameters)
        {
            var n = p.numel();
            if (options.WeightDecay > 0) p.mul_(1 - lr * options.WeightDecay);
            p.add_(update.narrow(0, offset, n).view_as(p));
            p.grad!.zero_();
            offset += n;
        }
        Step++;
    }

    /// <summary>Flat moment buffers in the order of <paramref name="parameters"/>, seeded from loaded (or earlier) moments.</summary>
    private void EnsureFlatMoments(List<(string Name, Parameter P)> parameters)
    {
        var total = parameters.Sum(p => p.P.numel());
        if (_flatM is not null && _flatM.numel() == total) return;
        var device = parameters[0].P.device;
        Tensor Gather(Func<(Tensor M, Tensor V), Tensor> pick) => cat(parameters.Select(p =>
            (_moments.TryGetValue(p.Name, out var m) ? pick(m) : zeros_like(p.P)).flatten().to(device)).ToArray());
        var flatM = Gather(m => m.M).DetachFromDisposeScope();
        var flatV = Gather(m => m.V).DetachFromDisposeScope();
        foreach (var (m, v) in _moments.Values)
        {
            m.Dispose();
            v.Dispose();
        }
        _moments.Clear();
        long offset = 0;
        foreach (var (name, p) in parameters)
        {
            var n = p.numel();
            _moments[name] = (flatM.narrow(0, offset, n).view_as(p).DetachFromDisposeScope(), flatV.narrow(0, offset, n).view_as(p).DetachFromDisposeScope());
            offset += n;
        }
        _flatM?.Dispose();
        _flatV?.Dispose();
        (_flatM, _flatV) = (flatM, flatV);
    }

    /// <summary>Writes the adapter, the moments, the step and <paramref name="optionsJson"/>, atomically, to <paramref name="folder"/>.</summary>
    public void Save(string folder, string optionsJson)
    {
        Directory.CreateDirectory(folder);
        var tensors = new List<NamedTensor>();
        foreach (var (name, (a, b)) in lora.Pairs)
        {
            tensors.Add(ToNamed($"{name}.lora_a", a));
            tensors.Add(ToNamed($"{name}.lora_b", b));
        }
        foreach (var (name, (m, v)) in _moments)
        {
            tensors.Add(ToNamed($"{name}.adam_m", m));
            tensors.Add(ToNamed($"{name}.adam_v", v));
        }
        Safetensors.Write(Path.Combine(folder, "checkpoint.safetensors"), tensors,
            new Dictionary<string, string> { ["step"] = Step.ToString(CultureInfo.InvariantCulture), ["options"] = optionsJson });
    }

    /// <summary>Restores a checkpoint written by <see cref="Save"/>.</summary>
    public void Load(string folder)
    {
        var (tensors, metadata) = Safetensors.Read(Path.Combine(folder, "checkpoint.safetensors"));
        var byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        using var noGrad = no_grad();
        foreach (var (name, (a, b)) in lora.Pairs)
        {
            Copy(byName, $"{name}.lora_a", a);
            Copy(byName, $"{name}.lora_b", b);
            if (byName.TryGetValue($"{name}.lora_a.adam_m", out _))
            {
                foreach (var part in new[] { "lora_a", "lora_b" })
                {
                    var key = $"{name}.{part}";
                    var like = part == "lora_a" ? a : b;
                    var m = zeros_like(like).DetachFromDisposeScope();
                    var v = zeros_like(like).DetachFromDisposeScope();
                    Copy(byName, $"{key}.adam_m", m);
                    Copy(byName, $"{key}.adam_v", v);
                    _moments[key] = (m, v);
                }
            }
        }
        Step = int.Parse(metadata["step"], CultureInfo.InvariantCulture);
    }

    private static NamedTensor ToNamed(string name, Tensor t) => new(name, t.shape, t.detach().cpu().to(ScalarType.Float32).data<float>().ToArray());

    private static void Copy(Dictionary<string, NamedTensor> from, string name, Tensor into)
    {
        if (!from.TryGetValue(name, out var t)) throw new UserErrorException($"the checkpoint lacks {name}");
        if (!t.Shape.SequenceEqual(into.shape)) throw new UserErrorException($"checkpoint tensor {name} has shape [{string.Join(", ", t.Shape)}], expected [{string.Join(", ", into.shape)}]");
        into.copy_(tensor(t.Values, t.Shape).to(into.device));
    }
}

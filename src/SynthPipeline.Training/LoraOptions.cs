using SynthPipeline.Core;
namespace SynthPipeline.Training;

/// <summary>LoRA hyperparameters; <see cref="Targets"/> are GGUF module names (attn_q, attn_k, attn_v, attn_output, ffn_gate, ffn_up, ffn_down).</summary>
public sealed record LoraOptions
{
    public int Rank { get; init; } = 16;
    public float Alpha { get; init; } = 32;
    public float Dropout { get; init; } = 0.05f;
    public IReadOnlyList<string> Targets { get; init; } = ["attn_q", "attn_k", "attn_v", "attn_output"];

    public static readonly IReadOnlyList<string> KnownTargets = ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"];

    public float Scale => Alpha / Rank;

    /// <exception cref="ArgumentException">A setting is out of range or a target unknown; the message names it.</exception>
    public LoraOptions Validate()
    {
        if (Rank < 1) throw new UserErrorException($"Train:Rank={Rank} must be at least 1");
        if (!(Alpha > 0)) throw new UserErrorException($"Train:Alpha={Alpha} must be positive");
        if (Dropout is < 0 or >= 1) throw new UserErrorException($"Train:Dropout={Dropout} must be in [0, 1)");
        var unknown = Targets.Except(KnownTargets).ToList();
        if (unknown.Count > 0 || Targets.Count == 0)
            throw new UserErrorException($"Train:Targets: {(unknown.Count > 0 ? $"unknown module(s) {string.Join(", ", unknown)}" : "none given")}; use {string.Join(", ", KnownTargets)}");
        return this;
    }
}

using System.Text.Json.Serialization;

namespace SynthPipeline.Core.Options;

/// <summary>A feature that is on, off, or decided by the tool. Bound and stored by name.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<Switch>))]
public enum Switch
{
    Auto,
    On,
    Off,
}

/// <summary>
/// Where tokens are sampled: in the compute graph, on the CPU, or chosen per device and parallelism; or the top-k cut
/// in the graph and the rest of the chain on the CPU over those k candidates (<see cref="TopKInGraph"/>). Bound by name.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<SamplingMode>))]
public enum SamplingMode
{
    Auto,
    Graph,
    Cpu,
    TopKInGraph,
}

/// <summary>Element type of the engine's KV cache. Bound by name (f16, bf16, f32, q8_0, q4_0).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<KvCacheType>))]
public enum KvCacheType
{
    F16,
    BF16,
    F32,
    Q8_0,
    Q4_0,
}

/// <summary>
/// How prompts reach the teacher: as a chat (the model's template, <c>/v1/chat/completions</c>) or as raw text for a
/// base model (no template, <c>/v1/completions</c>), as the Self-Instruct reference drove GPT-3. Bound by name.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<TeacherMode>))]
public enum TeacherMode
{
    Chat,
    Completion,
}

/// <summary>What a teacher call is for; <c>Teacher:Roles</c> can send each to different models. Bound by name.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<TeacherRole>))]
public enum TeacherRole
{
    /// <summary>Writing data: instructions, instances, questions, answers, variants.</summary>
    Generate,

    /// <summary>Judging generated data (augment's majority-vote judges).</summary>
    Judge,

    /// <summary>Short labels (Self-Instruct's is-classification question).</summary>
    Classify,
}

/// <summary>Extensions that turn a <see cref="Switch"/> into a decision.</summary>
public static class SwitchExtensions
{
    /// <summary>null for <see cref="Switch.Auto"/>: the caller decides.</summary>
    public static bool? AsNullable(this Switch value) => value switch { Switch.On => true, Switch.Off => false, _ => null };

    /// <summary>On or off, with <paramref name="auto"/> deciding <see cref="Switch.Auto"/>.</summary>
    public static bool Resolve(this Switch value, bool auto) => value.AsNullable() ?? auto;
}

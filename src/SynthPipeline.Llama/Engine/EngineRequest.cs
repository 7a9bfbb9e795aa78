using SynthPipeline.Llama.Teacher;

namespace SynthPipeline.Llama.Engine;

/// <summary>A submitted generation with everything the engine thread needs to run and complete it.</summary>
internal sealed class EngineRequest(GenerationRequest request, LlamaSampler sampler, Action<string>? onText, CancellationToken token, long submittedAt)
{
    public GenerationRequest Request { get; } = request;

    public int[] Prompt { get; } = request.PromptTokens as int[] ?? [.. request.PromptTokens];

    /// <summary>Owned: disposed by the engine when the request ends.</summary>
    public LlamaSampler Sampler { get; } = sampler;

    public Action<string>? OnText { get; } = onText;

    public CancellationToken Token { get; } = token;

    public long SubmittedAt { get; } = submittedAt;

    public CancellationTokenRegistration Registration { get; set; }

    /// <summary>Submission number: the order among requests of the same priority.</summary>
    public long Order { get; set; }

    public TaskCompletionSource<GenerationResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Frees what the ended request holds. A chain still <paramref name="attached"/> to its slot stays alive: the
    /// slot's next request replaces it (see the engine's AttachSampler).
    /// </summary>
    public void Release(LlamaSampler? attached = null)
    {
        if (!ReferenceEquals(attached, Sampler)) Sampler.Dispose();
        Registration.Dispose();
    }
}

using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;

namespace SynthPipeline.Pipeline.Teacher;

/// <summary>
/// A Semantic Kernel whose chat services are the in-process teacher: prompt functions rendered from
/// <c>prompts/</c> resolve <see cref="IChatClient"/> or <see cref="IChatCompletionService"/> and reach the same model.
/// </summary>
public static class TeacherKernel
{
    public static Kernel Create(IChatClient teacher)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        var builder = Kernel.CreateBuilder();
        builder.Services.AddSingleton(teacher);
        builder.Services.AddSingleton<IChatCompletionService>(teacher.AsChatCompletionService());
        return builder.Build();
    }
}

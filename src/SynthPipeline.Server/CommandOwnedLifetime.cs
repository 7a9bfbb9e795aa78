using Microsoft.Extensions.Hosting;

namespace SynthPipeline.Server;

/// <summary>
/// A host lifetime that leaves signals to the command that started the server. ASP.NET Core's default console
/// lifetime registers its own Ctrl+C handler, which stops the host; with the command's handler beside it, a Ctrl+C
/// sent right after start-up was taken by one and the command never saw it (14 of 15 tries hung when SIGINT followed
/// the address line at once). The command cancels, then stops the server itself.
/// </summary>
internal sealed class CommandOwnedLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

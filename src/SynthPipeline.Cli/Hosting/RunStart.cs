using SynthPipeline.Pipeline.State;

namespace SynthPipeline.Cli.Hosting;

/// <summary>What a run command does between creating its run folder and starting the run's work.</summary>
internal static class RunStart
{
    /// <summary>
    /// Runs <paramref name="start"/> (opening the teacher, resolving what the run needs); if it fails, the run that
    /// this command has just created is removed before the error is reported, since nothing was produced in it.
    /// </summary>
    public static async Task<T> OrDiscardAsync<T>(RunFolder folder, Func<Task<T>> start)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(start);
        try
        {
            return await start().ConfigureAwait(false);
        }
        catch
        {
            folder.DiscardIfNew();
            throw;
        }
    }
}

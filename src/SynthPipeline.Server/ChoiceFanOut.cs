using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using Microsoft.Extensions.AI;

namespace SynthPipeline.Server;

/// <summary>
/// Runs a request's choices (OpenAI's <c>n</c>) as concurrent generations on the one model, where the engine gives
/// each its own sequence and they share the prompt's KV. The first failure cancels the other choices and is what the
/// request fails with, so a refusal (a prompt over the context) reads the same for any <c>n</c>.
/// </summary>
internal static class ChoiceFanOut
{
    /// <summary>Every choice's whole answer, in choice order.</summary>
    public static async Task<ChatResponse[]> ResponsesAsync(IChatClient model, ServedRequest request, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var failure = new FirstFailure(stop);
        var answers = Enumerable.Range(0, request.Choices)
            .Select(i => failure.Watch(() => model.GetResponseAsync(request.Messages, request.OptionsFor(i), stop.Token)))
            .ToArray();
        try
        {
            return await Task.WhenAll(answers).ConfigureAwait(false);
        }
        catch (Exception) when (failure.Exception is not null)
        {
            failure.Throw();
            throw;
        }
    }

    /// <summary>
    /// The choices' streamed pieces as they come, each with its choice's index; a null update says that choice has
    /// ended. Leaving the enumeration early (the client went) cancels every choice still generating.
    /// </summary>
    public static async IAsyncEnumerable<(int Choice, ChatResponseUpdate? Update)> UpdatesAsync(IChatClient model, ServedRequest request,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var failure = new FirstFailure(stop);
        // Bounded: a client that reads slowly holds the generations back instead of growing the server's memory.
        var pieces = Channel.CreateBounded<(int, ChatResponseUpdate?)>(new BoundedChannelOptions(256) { SingleReader = true });
        var choices = Enumerable.Range(0, request.Choices).Select(i => failure.Watch(async () =>
        {
            await foreach (var update in model.GetStreamingResponseAsync(request.Messages, request.OptionsFor(i), stop.Token).ConfigureAwait(false))
                await pieces.Writer.WriteAsync((i, update), stop.Token).ConfigureAwait(false);
            await pieces.Writer.WriteAsync((i, null), stop.Token).ConfigureAwait(false);
            return i;
        })).ToArray();
        // The failure itself reaches the reader through FirstFailure; reading Exception here marks it observed.
        var ended = Task.WhenAll(choices).ContinueWith(t =>
        {
            _ = t.Exception;
            pieces.Writer.TryComplete();
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        try
        {
            await foreach (var piece in pieces.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false)) yield return piece;
            failure.Throw();
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await ended.ConfigureAwait(false);
        }
    }

    /// <summary>Keeps the first exception of a request's choices and cancels the rest when it comes.</summary>
    private sealed class FirstFailure(CancellationTokenSource stop)
    {
        private Exception? _first;

        public Exception? Exception => Volatile.Read(ref _first);

        public async Task<T> Watch<T>(Func<Task<T>> run)
        {
            try
            {
                return await run().ConfigureAwait(false);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _first, e, null);
                await stop.CancelAsync().ConfigureAwait(false);
                throw;
            }
        }

        /// <summary>Rethrows the first failure, if there was one, with its own stack.</summary>
        public void Throw()
        {
            if (Exception is { } e) ExceptionDispatchInfo.Throw(e);
        }
    }
}

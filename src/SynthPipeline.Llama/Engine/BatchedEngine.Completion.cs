using Microsoft.Extensions.Logging;

namespace SynthPipeline.Llama.Engine;

// What follows a sampled token: its text, stop sequences and callbacks, and the end of its request.
public sealed partial class BatchedEngine
{
    /// <summary>Handles the text, stop sequences and callbacks of the tokens carried from the last step; true when there were any.</summary>
    private bool HandleCarried()
    {
        if (_carried.Count == 0) return false;
        var began = System.Diagnostics.Stopwatch.GetTimestamp();
        foreach (var (slot, admission, token, end) in _carried)
            if (IsCurrent(slot, admission)) HandleText(slot, token, end);
        _carried.Clear();
        Interlocked.Add(ref _textTicks, System.Diagnostics.Stopwatch.GetTimestamp() - began);
        return true;
    }

    private void HandleText(EngineSequence slot, int token, GenerationFinish? end)
    {
        if (slot.Request!.Request.OnToken is { } onToken)
        {
            try
            {
                onToken(token);
            }
#pragma warning disable CA1031 // the caller's exception goes back to that caller
            catch (Exception e)
#pragma warning restore CA1031
            {
                Finish(slot, GenerationFinish.Length, error: e);
                return;
            }
        }
        if (end == GenerationFinish.EndOfTurn)
        {
            Finish(slot, GenerationFinish.EndOfTurn);
            return;
        }
        if (!Emit(slot, slot.Stops.Append(slot.Decoder!.Append(token)))) return;
        if (slot.Stops.Stopped) Finish(slot, GenerationFinish.StopSequence);
        else if (end is { } finish) Finish(slot, finish);
    }

    /// <summary>Hands text to the request's callback; a callback that throws fails its own request only.</summary>
    private bool Emit(EngineSequence slot, string text)
    {
        if (text.Length == 0) return true;
        slot.Text.Append(text);
        try
        {
            slot.Request!.OnText?.Invoke(text);
            return true;
        }
#pragma warning disable CA1031 // the caller's exception goes back to that caller
        catch (Exception e)
#pragma warning restore CA1031
        {
            Finish(slot, GenerationFinish.Length, error: e);
            return false;
        }
    }

    private void Finish(EngineSequence slot, GenerationFinish finish, Exception? error = null, bool canceled = false)
    {
        ReleaseLinksTo(slot);
        if (error is null && !canceled && !slot.Stops.Stopped && !Emit(slot, slot.Stops.Flush())) return;
        var request = slot.End();
        Interlocked.Decrement(ref _active);
        Interlocked.Add(ref _wholeVocabularyDraws, request.Sampler.WholeVocabularyDraws);
        slot.BackendSampler = false;
        request.Release(slot.Attached);
        if (error is not null || !_options.PrefixSharing)
        {
            _context.RemoveSequence(slot.Id);
            slot.ClearCache();
        }
        if (error is not null)
        {
            Interlocked.Increment(ref _failed);
            request.Completion.TrySetException(error);
        }
        else if (canceled)
        {
            Interlocked.Increment(ref _failed);
            request.Completion.TrySetCanceled(request.Token);
        }
        else
        {
            Interlocked.Increment(ref _completed);
            var result = new GenerationResult(slot.Text.ToString(), [.. slot.Generated], finish, request.Prompt.Length,
                slot.FirstToken, _time.GetElapsedTime(request.SubmittedAt))
            {
                CachedPromptTokens = slot.PromptReused,
                Logprobs = request.Request.TopLogprobs is null ? null : [.. slot.Logprobs],
            };
            LogCompleted(_logger, slot.Id, result.PromptTokens, result.Tokens.Count, result.Finish);
            request.Completion.TrySetResult(result);
        }
    }

    private void FailEverything(Func<bool, Exception> error)
    {
        foreach (var slot in _slots)
        {
            if (!slot.IsActive) continue;
            var request = slot.End();
            request.Release(slot.Attached);
            request.Completion.TrySetException(Cancelled(request) ?? error(true));
        }
        DetachAllSamplers();
        _accepted.Clear();
        _carried.Clear();
        Volatile.Write(ref _active, 0);
        lock (_submitLock)
        {
            while (_incoming.TryDequeue(out var item)) Wait(item);
        }
        while (_waiting.TryDequeue(out var request, out _))
        {
            request.Release();
            request.Completion.TrySetException(Cancelled(request) ?? error(false));
        }
        Volatile.Write(ref _queueDepth, 0);
    }

    // A caller that cancelled and then disposed the teacher (Ctrl+C) sees its own cancellation, not a disposal error.
    private static OperationCanceledException? Cancelled(EngineRequest request) =>
        request.Token.IsCancellationRequested ? new OperationCanceledException(request.Token) : null;

    [LoggerMessage(EventId = 20, Level = LogLevel.Debug, Message = "engine slot {Slot} finished: {Prompt} prompt tokens, {Completion} generated, {Finish}")]
    private static partial void LogCompleted(ILogger logger, int slot, int prompt, int completion, GenerationFinish finish);
}

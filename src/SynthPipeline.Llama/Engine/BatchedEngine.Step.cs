using Microsoft.Extensions.Logging;

namespace SynthPipeline.Llama.Engine;

// One step: the batch (a token for each generating sequence, then prompt chunks within the prefill budget), its
// decode with failures isolated to the sequences at fault, and the sampling of its outputs.
public sealed partial class BatchedEngine
{
    /// <summary>Builds and decodes one batch; false when there was nothing to do.</summary>
    private bool Step()
    {
        // The tokens accepted last step are handled during this step's decode.
        (_carried, _accepted) = (_accepted, _carried);
        _batch.Clear();
        _outputs.Clear();
        foreach (var slot in _slots)
        {
            if (!slot.IsGenerating || _batch.Count == _batch.Capacity) continue;
            Add(slot, slot.Decoded, wantLogits: true);
        }
        _promptOrder.Clear();
        foreach (var slot in _slots)
            if (slot.IsPromptProcessing) _promptOrder.Add(slot);
        _promptOrder.Sort(static (a, b) => a.Admission.CompareTo(b.Admission));
        // At least one prompt token per step, so that a budget smaller than the batch never stalls admission.
        var limit = _options.PrefillBudget > 0 ? Math.Min(_batch.Capacity, _batch.Count + _options.PrefillBudget) : _batch.Capacity;
        foreach (var slot in _promptOrder)
        {
            var n = Math.Min(limit - _batch.Count, slot.PromptLength - slot.Decoded);
            for (var j = 0; j < n; j++)
            {
                var position = slot.Decoded + j;
                Add(slot, position, wantLogits: position == slot.PromptLength - 1);
            }
            if (_batch.Count >= limit) break;
        }
        if (_batch.Count == 0) return HandleCarried();
        Decode();
        HandleCarried();
        return true;
    }

    private void Add(EngineSequence slot, int position, bool wantLogits)
    {
        if (wantLogits) _outputs.Add((_batch.Count, slot, slot.Admission));
        _tokenOwner[_batch.Count] = slot;
        _batch.Add(slot.Tokens[position], position, slot.Id, wantLogits);
    }

    /// <summary>
    /// Decodes the batch, halving the chunk on "no KV slot" (after dropping idle prefix caches). What still fails
    /// fails only the sequences in the failing chunk; the rest of the batch is retried next step.
    /// </summary>
    private void Decode()
    {
        var start = 0;
        var chunk = _batch.Count;
        var evicted = false;
        var output = 0;
        while (start < _batch.Count)
        {
            var n = Math.Min(chunk, _batch.Count - start);
            var began = System.Diagnostics.Stopwatch.GetTimestamp();
            var status = _context.Decode(_batch, start, n);
            Interlocked.Add(ref _decodeTicks, System.Diagnostics.Stopwatch.GetTimestamp() - began);
            Interlocked.Increment(ref _decodes);
            if (status == DecodeStatus.Ok)
            {
                output = Advance(start, n, output);
                start += n;
                continue;
            }
            if (status == DecodeStatus.Aborted && _shutdown.IsCancellationRequested) return;
            if (status == DecodeStatus.NoKvSlot && !evicted)
            {
                evicted = true;
                if (EvictIdleCaches()) continue;
            }
            // Halving isolates the cause: a smaller batch may fit the KV cache, and a rejected batch that mixes
            // sequences shrinks until the rejection falls on the one sequence responsible.
            if (n > 1 && (status == DecodeStatus.NoKvSlot || SpansSeveralSequences(start, n)))
            {
                chunk = Math.Max(1, n / 2);
                continue;
            }
            FailChunk(start, n, status);
            return;
        }
    }

    private bool SpansSeveralSequences(int start, int count)
    {
        for (var i = start + 1; i < start + count; i++)
            if (!ReferenceEquals(_tokenOwner[i], _tokenOwner[start])) return true;
        return false;
    }

    private int Advance(int start, int count, int output)
    {
        long prompt = 0;
        for (var i = start; i < start + count; i++)
        {
            var slot = _tokenOwner[i];
            if (slot.Decoded < slot.PromptLength) prompt++;
            slot.Decoded++;
        }
        Interlocked.Add(ref _promptProcessed, prompt);
        // The whole batch is now queued and every slot's KV count includes it, so a sequence the last step's text
        // ends can end cleanly; on a GPU this runs while the batch computes.
        if (_options.OverlapText && start == 0 && count == _batch.Count) HandleCarried();

        var first = output;
        while (output < _outputs.Count && _outputs[output].BatchIndex < start + count) output++;
        var n = output - first;
        if (n == 0) return output;
        if (_sampled.Length < n) _sampled = new int[Math.Max(n, _sampled.Length * 2)];
        var began = System.Diagnostics.Stopwatch.GetTimestamp();
        // The first lookup lets llama.cpp put its outputs in order (it mutates then); later lookups only read,
        // so the samplers, each with its own state, can run on several threads at once.
        _context.HasBackendSample(_outputs[first].BatchIndex - start);
        var cpuSampled = 0;
        for (var j = 0; j < n; j++)
            if (!_outputs[first + j].Slot.BackendSampler) cpuSampled++;
        // Tokens sampled in the graph only need reading back; threads pay off for the CPU samplers alone.
        if (cpuSampled >= ParallelSamplingThreshold && _samplesOnThreads)
        {
            Parallel.For(0, n, _parallelSampling, j => _sampled[j] = SampleOne(_outputs[first + j], start));
            Interlocked.Increment(ref _stepsSampledOnThreads);
        }
        else
            for (var j = 0; j < n; j++) _sampled[j] = SampleOne(_outputs[first + j], start);
        Interlocked.Add(ref _samplingTicks, System.Diagnostics.Stopwatch.GetTimestamp() - began);
        for (var j = 0; j < n; j++)
        {
            var (index, slot, admission) = _outputs[first + j];
            if (IsCurrent(slot, admission)) Accept(slot, admission, _sampled[j], index - start);
        }
        if (!_options.OverlapText)
        {
            (_carried, _accepted) = (_accepted, _carried);
            HandleCarried();
        }
        return output;
    }

    /// <summary>The slot still serves the request it served when <paramref name="admission"/> was recorded.</summary>
    private static bool IsCurrent(EngineSequence slot, long admission) => slot.IsActive && slot.Admission == admission;

    private int SampleOne((int BatchIndex, EngineSequence Slot, long Admission) output, int start)
    {
        var (index, slot, admission) = output;
        // Its request ended while this batch was decoding (a stop sequence in the previous token's text).
        if (!IsCurrent(slot, admission)) return -1;
        var token = slot.Request!.Sampler.Sample(_context, index - start);
        if (slot.BackendSampler && _context.HasBackendSample(index - start)) Interlocked.Increment(ref _backendSampled);
        else if (slot.Attached is { IsTopKOnly: true } && _context.BackendCandidates(index - start) > 0) Interlocked.Increment(ref _drawsFromGraphCandidates);
        return token;
    }

    /// <summary>
    /// Takes a sampled token: a token that does not end the request joins the next batch at once; its text, stop
    /// sequences and callbacks wait in <see cref="_accepted"/> for <see cref="HandleCarried"/>.
    /// </summary>
    private void Accept(EngineSequence slot, long admission, int token, int output)
    {
        Interlocked.Increment(ref _generated);
        var request = slot.Request!.Request;
        if (slot.Generated.Count == 0) slot.FirstToken = _time.GetElapsedTime(slot.Request.SubmittedAt);
        GenerationFinish? end = null;
        if (request.ForcedTokens is { } forced)
        {
            // The step that samples past the script is the step at which a model would have sampled its end of turn.
            if (slot.Generated.Count >= forced.Count) end = GenerationFinish.EndOfTurn;
            else token = forced[slot.Generated.Count];
        }
        if (end is not null || (!request.IgnoreEndOfGeneration && _model.Vocab.IsEndOfGeneration(token))) end = GenerationFinish.EndOfTurn;
        else
        {
            slot.Generated.Add(token);
            if (request.TopLogprobs is { } top) slot.Logprobs.Add(TokenLogprob.Of(_context.Logits(output), token, top, _model.Vocab));
            if (slot.Generated.Count >= request.MaxTokens || slot.Tokens.Count >= _options.ContextPerSequence) end = GenerationFinish.Length;
            else slot.Tokens.Add(token);
        }
        _accepted.Add(new AcceptedToken(slot, admission, token, end));
    }

    private void FailChunk(int start, int count, DecodeStatus status)
    {
        var message = status == DecodeStatus.NoKvSlot
            ? $"llama_decode found no KV space even for one token ((Teacher:ParallelSequences + Teacher:PrefixCacheSlots) × Teacher:ContextPerSequence = {_options.SlotCount * _options.ContextPerSequence} cells)"
            : $"llama_decode failed ({status}) for this request's tokens: {Native.NativeLog.TakeRecentProblems()}";
        LogDecodeFailed(_logger, status, count);
        var failed = new HashSet<EngineSequence>();
        for (var i = start; i < start + count; i++) failed.Add(_tokenOwner[i]);
        foreach (var slot in failed)
            if (slot.IsActive) Finish(slot, GenerationFinish.Length, error: new LlamaModelException(message));
    }

    [LoggerMessage(EventId = 21, Level = LogLevel.Warning, Message = "llama_decode returned {Status} for {Tokens} tokens; the requests in them failed and the loop goes on")]
    private static partial void LogDecodeFailed(ILogger logger, DecodeStatus status, int tokens);
}

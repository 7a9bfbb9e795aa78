using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SynthPipeline.Llama.Teacher;

namespace SynthPipeline.Llama.Engine;

/// <summary>
/// Continuous batching over one llama.cpp context. Concurrent <see cref="GenerateAsync"/> calls become sequences
/// of a single decode loop on a dedicated thread: every step decodes one token for each generating sequence plus
/// chunks of admitted prompts, up to the batch size. Each sequence has its own sampler (grammar, seed), stop rules,
/// token limit and KV stream. A prompt prefix that another sequence already computed is copied instead of recomputed.
/// Requests wait for a free slot rather than fail; a decode error fails only the requests it touches.
/// </summary>
/// <remarks>
/// With <see cref="EngineOptions.OverlapText"/>, what a sampled token needs besides its KV (its text, the stop
/// sequences, the callbacks) is done while the next step decodes: llama_decode returns once the step is queued on a
/// GPU and waits only when logits are read, so this host work no longer adds to every step. A sequence that a stop
/// sequence ends has then decoded one token more than it emits; the output is the same.
/// </remarks>
public sealed partial class BatchedEngine : IDisposable
{
    private readonly LlamaModel _model;
    private readonly EngineOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly LlamaContext _context;
    private readonly LlamaBatch _batch;
    private readonly EngineSequence[] _slots;
    private readonly EngineSequence[] _tokenOwner;
    private readonly List<(int BatchIndex, EngineSequence Slot, long Admission)> _outputs = [];
    private readonly List<EngineSequence> _promptOrder = [];
    private readonly ConcurrentQueue<EngineRequest> _incoming = new();
    // Waiting requests by priority (lower first, as vLLM's), then by submission.
    private readonly PriorityQueue<EngineRequest, (int Priority, long Order)> _waiting = new();
    private long _submissions;
    private readonly ManualResetEventSlim _wake = new(false);
    private readonly CancellationTokenSource _shutdown = new();
    private readonly Lock _submitLock = new();
    private readonly RateMeter _rates;
    private readonly Thread _thread;
    private readonly bool _backendSampling;
    private readonly bool _samplesOnThreads;
    private readonly ParallelOptions _parallelSampling;
    private int[] _sampled = new int[64];
    private List<AcceptedToken> _accepted = [];
    private List<AcceptedToken> _carried = [];
    private long _decodeTicks;
    private long _idleTicks;
    private long _wholeVocabularyDraws;
    private long _samplingTicks;
    private long _textTicks;

    /// <summary>Below this many outputs in a step, handing sampling to other threads costs more than it saves.</summary>
    private const int ParallelSamplingThreshold = 8;
    private long _stepsSampledOnThreads;
    private long _drawsFromGraphCandidates;
    private long _admissions;
    private int _queueDepth;
    private int _active;
    private long _kvHeld;
    private long _promptProcessed;
    private long _promptReused;
    private long _generated;
    private long _backendSampled;
    private long _decodes;
    private long _completed;
    private long _failed;
    private bool _disposed;
    private Exception? _fatal;

    /// <summary>Creates the context (one KV stream and sequence id per slot) and starts the decode loop.</summary>
    /// <remarks><paramref name="loraAdapters"/> apply to every sequence, with their scales.</remarks>
    /// <exception cref="ArgumentException">Invalid options; the message names the keys.</exception>
    /// <exception cref="LlamaModelException">The context cannot be created (for example, out of memory).</exception>
    public BatchedEngine(LlamaModel model, EngineOptions? options = null, IReadOnlyList<(LlamaLoraAdapter Adapter, float Scale)>? loraAdapters = null,
        ILogger? logger = null, TimeProvider? timeProvider = null)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _options = (options ?? new EngineOptions()).Validate();
        _logger = logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
        _backendSampling = _options.SamplesInGraph(model.OnGpu);
        var samplingThreads = _options.Threads > 0 ? _options.Threads : Environment.ProcessorCount;
        _parallelSampling = new ParallelOptions { MaxDegreeOfParallelism = samplingThreads };
        // A token's sampling costs about what reading its logits costs: over a small vocabulary (the demo model's
        // 489 tokens: 8 µs a token) handing the step to other threads costs more than it saves
        // (bench/results/sampling-overlap.md, "Threads for sampling").
        _samplesOnThreads = samplingThreads > 1 && model.Vocab.TokenCount >= _options.ParallelSamplingMinVocabulary;
        _context = LlamaContext.Create(model, new LlamaContextOptions
        {
            ContextSize = checked(_options.ParallelSequences * _options.ContextPerSequence),
            SequenceCount = _options.ParallelSequences,
            BatchSize = _options.BatchSize,
            MicroBatchSize = _options.MicroBatchSize,
            Threads = _options.Threads,
            FlashAttention = _options.FlashAttention,
            KvCacheType = _options.KvCacheType,
            // One KV stream per sequence: attention then reads only the sequence's own cells. A unified buffer makes
            // every token attend over all sequences' cells (masked), which measured 4-8x slower at 16-64 sequences.
            UnifiedKvCache = false,
        });
        try
        {
            if (loraAdapters is { Count: > 0 }) _context.SetLoraAdapters(loraAdapters);
        }
        catch
        {
            _context.Dispose();
            throw;
        }
        _batch = new LlamaBatch(_options.BatchSize);
        _tokenOwner = new EngineSequence[_options.BatchSize];
        _slots = Enumerable.Range(0, _options.ParallelSequences).Select(i => new EngineSequence(i)).ToArray();
        _rates = new RateMeter(_time, TimeSpan.FromSeconds(5));
        _thread = new Thread(Run) { IsBackground = true, Name = "synth-engine" };
        _thread.Start();
    }

    public LlamaModel Model => _model;

    /// <summary>Tests turn this off to send llama.cpp a batch it rejects, and check that only that request fails.</summary>
    internal bool CheckPromptTokens { get; set; } = true;

    /// <summary>Steps whose CPU samplers ran on several threads (tests check which path a run took).</summary>
    internal long StepsSampledOnThreads => Interlocked.Read(ref _stepsSampledOnThreads);

    public EngineOptions Options => _options;

    /// <summary>Requests whose sampler allows it are sampled in the compute graph.</summary>
    public bool UsesBackendSampling => _backendSampling;

    /// <summary>
    /// Queues a generation. The task completes when it ends; <paramref name="onText"/> receives text as it becomes
    /// safe to emit, on the engine thread, so it must return quickly.
    /// </summary>
    /// <exception cref="PromptTooLongException">The prompt does not fit one sequence's context.</exception>
    /// <exception cref="InvalidGrammarException">The request's grammar does not parse (this request only).</exception>
    /// <exception cref="ObjectDisposedException">The engine was disposed.</exception>
    public Task<GenerationResult> GenerateAsync(GenerationRequest request, Action<string>? onText = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.PromptTokens.Count == 0) throw new ArgumentException("the prompt is empty", nameof(request));
        if (request.PromptTokens.Count >= _options.ContextPerSequence)
            throw new PromptTooLongException(request.PromptTokens.Count, _options.ContextPerSequence);
        ArgumentOutOfRangeException.ThrowIfLessThan(request.MaxTokens, 1, nameof(request));
        if (request.ForcedTokens is not null && request.Sampling.Grammar is not null)
            throw new ArgumentException("forced tokens cannot follow a grammar: the grammar would advance on the sampled tokens", nameof(request));
        if (CheckPromptTokens)
        {
            var vocab = _model.Vocab.TokenCount;
            for (var i = 0; i < request.PromptTokens.Count; i++)
                if ((uint)request.PromptTokens[i] >= (uint)vocab)
                    throw new ArgumentException($"prompt token {request.PromptTokens[i]} at position {i} is outside the model's vocabulary (0 to {vocab - 1})", nameof(request));
            for (var i = 0; i < (request.ForcedTokens?.Count ?? 0); i++)
                if ((uint)request.ForcedTokens![i] >= (uint)vocab)
                    throw new ArgumentException($"forced token {request.ForcedTokens[i]} at position {i} is outside the model's vocabulary (0 to {vocab - 1})", nameof(request));
        }
        if (cancellationToken.IsCancellationRequested) return Task.FromCanceled<GenerationResult>(cancellationToken);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var sampler = LlamaSampler.Create(_model, request.Sampling, _options.TopCandidates);
        var item = new EngineRequest(request, sampler, onText, cancellationToken, _time.GetTimestamp());
        lock (_submitLock)
        {
            if (_disposed || _fatal is not null)
            {
                sampler.Dispose();
                if (_fatal is not null) throw new LlamaModelException($"the generation engine stopped: {_fatal.Message}", _fatal);
                throw new ObjectDisposedException(nameof(BatchedEngine), "the teacher was disposed");
            }
            if (cancellationToken.CanBeCanceled)
                item.Registration = cancellationToken.Register(static s => ((ManualResetEventSlim)s!).Set(), _wake);
            Interlocked.Increment(ref _queueDepth);
            item.Order = ++_submissions;
            _incoming.Enqueue(item);
        }
        _wake.Set();
        return item.Completion.Task;
    }

    /// <summary>A snapshot of queue, sequences, rates and KV use; safe to call from any thread.</summary>
    public EngineMetrics Metrics()
    {
        var prompt = Interlocked.Read(ref _promptProcessed);
        var generated = Interlocked.Read(ref _generated);
        var (promptRate, generatedRate) = _rates.Rates(prompt, generated);
        return new EngineMetrics(
            Volatile.Read(ref _queueDepth), Volatile.Read(ref _active), promptRate, generatedRate,
            Interlocked.Read(ref _kvHeld), (long)_options.ParallelSequences * _options.ContextPerSequence,
            prompt, Interlocked.Read(ref _promptReused), generated, Interlocked.Read(ref _backendSampled),
            Interlocked.Read(ref _decodes), Interlocked.Read(ref _completed), Interlocked.Read(ref _failed))
        {
            DecodeSeconds = Seconds(ref _decodeTicks),
            SamplingSeconds = Seconds(ref _samplingTicks),
            TextSeconds = Seconds(ref _textTicks),
            IdleSeconds = Seconds(ref _idleTicks),
            GraphCutDraws = Interlocked.Read(ref _drawsFromGraphCandidates),
            WholeVocabularyDraws = Interlocked.Read(ref _wholeVocabularyDraws),
        };
    }

    private static double Seconds(ref long ticks) => (double)Interlocked.Read(ref ticks) / System.Diagnostics.Stopwatch.Frequency;

    /// <summary>
    /// Stops the loop within one decode step: running and queued requests fail with <see cref="ObjectDisposedException"/>,
    /// or with <see cref="OperationCanceledException"/> where their own token was already cancelled.
    /// </summary>
    public void Dispose()
    {
        lock (_submitLock)
        {
            if (_disposed) return;
            _disposed = true;
        }
        _shutdown.Cancel();
        _wake.Set();
        // Native objects may only go once the loop no longer uses them; the abort callback makes this wait short.
        if (!_thread.Join(TimeSpan.FromSeconds(30)))
            throw new InvalidOperationException("the generation engine did not stop within 30 s of Dispose");
        _batch.Dispose();
        _context.Dispose();
        _shutdown.Dispose();
    }

    private void Run()
    {
        try
        {
            Loop();
            FailEverything(running => new ObjectDisposedException(nameof(BatchedEngine),
                $"the teacher was disposed while this request was {(running ? "running" : "waiting")}"));
        }
#pragma warning disable CA1031 // a bug in the loop must fail the requests, not hang their callers
        catch (Exception e)
#pragma warning restore CA1031
        {
            lock (_submitLock) _fatal = e;
            LogEngineStopped(_logger, e);
            FailEverything(_ => new LlamaModelException($"the generation engine stopped: {e.Message}", e));
        }
    }

    private void Loop()
    {
        using var abort = _context.AbortOn(_shutdown.Token);
        while (!_shutdown.IsCancellationRequested)
        {
            _wake.Reset();
            while (_incoming.TryDequeue(out var item)) Wait(item);
            DropCancelled();
            ResolveLinks();
            Admit();
            if (_active == 0)
            {
                Idle(Timeout.InfiniteTimeSpan);
                continue;
            }
            if (!Step()) Idle(TimeSpan.FromMilliseconds(5));
            _rates.Record(Interlocked.Read(ref _promptProcessed), Interlocked.Read(ref _generated));
            long held = 0;
            foreach (var s in _slots) held += s.Decoded;
            Interlocked.Exchange(ref _kvHeld, held);
        }
    }

    /// <summary>Waits for a request or a change (at most <paramref name="limit"/>), counting the time as idle.</summary>
    private void Idle(TimeSpan limit)
    {
        var began = System.Diagnostics.Stopwatch.GetTimestamp();
        _wake.Wait(limit);
        Interlocked.Add(ref _idleTicks, System.Diagnostics.Stopwatch.GetTimestamp() - began);
    }

    private void DropCancelled()
    {
        if (_waiting.UnorderedItems.Any(r => r.Element.Token.IsCancellationRequested))
        {
            var all = _waiting.UnorderedItems.Select(r => r.Element).ToList();
            var keep = all.Where(r => !r.Token.IsCancellationRequested).ToList();
            foreach (var r in all.Where(r => r.Token.IsCancellationRequested))
            {
                Interlocked.Decrement(ref _queueDepth);
                Interlocked.Increment(ref _failed);
                r.Sampler.Dispose();
                r.Registration.Dispose();
                r.Completion.TrySetCanceled(r.Token);
            }
            _waiting.Clear();
            foreach (var r in keep) Wait(r);
        }
        foreach (var slot in _slots)
            if (slot.Request is { Token.IsCancellationRequested: true }) Finish(slot, GenerationFinish.Length, canceled: true);
    }

    private void Wait(EngineRequest request) => _waiting.Enqueue(request, (request.Request.Priority, request.Order));

    private void Admit()
    {
        while (_waiting.Count > 0)
        {
            var request = _waiting.Peek();
            var slot = ChooseFreeSlot(request.Prompt);
            if (slot is null) return;
            _waiting.Dequeue();
            Interlocked.Decrement(ref _queueDepth);
            Start(slot, request);
        }
    }

    /// <summary>The free slot whose cached KV shares the longest prefix with the prompt; ties go to the least recently used.</summary>
    private EngineSequence? ChooseFreeSlot(int[] prompt)
    {
        EngineSequence? best = null;
        var bestShared = -1;
        foreach (var slot in _slots)
        {
            if (slot.IsActive) continue;
            var shared = _options.PrefixSharing ? CommonPrefix(prompt, slot.Tokens, slot.Decoded) : 0;
            if (shared > bestShared || (shared == bestShared && slot.Admission < best!.Admission))
            {
                best = slot;
                bestShared = shared;
            }
        }
        return best;
    }

    private void Start(EngineSequence slot, EngineRequest request)
    {
        var prompt = request.Prompt;
        // The last prompt token is always decoded: its logits give the first sampled token.
        var shareable = prompt.Length - 1;
        var keep = _options.PrefixSharing ? Math.Min(CommonPrefix(prompt, slot.Tokens, slot.Decoded), shareable) : 0;
        EngineSequence? source = null;
        var sourceLength = 0;
        if (_options.PrefixSharing)
        {
            foreach (var other in _slots)
            {
                if (ReferenceEquals(other, slot)) continue;
                var shared = Math.Min(CommonPrefix(prompt, other.Tokens, other.Tokens.Count), shareable);
                if (shared > sourceLength)
                {
                    source = other;
                    sourceLength = shared;
                }
            }
        }

        slot.Begin(request, _model.Vocab, ++_admissions);
        if (source is not null && sourceLength > keep && (source.Decoded >= sourceLength || sourceLength >= _options.MinSharedPrefix))
        {
            _context.RemoveSequence(slot.Id);
            slot.ClearCache();
            slot.Tokens.AddRange(prompt);
            if (source.Decoded >= sourceLength) Share(source, slot, sourceLength);
            else
            {
                slot.LinkSource = source;
                slot.LinkLength = sourceLength;
            }
        }
        else
        {
            if (keep < slot.Decoded && !_context.RemoveSequence(slot.Id, keep))
            {
                _context.RemoveSequence(slot.Id);
                keep = 0;
            }
            slot.Tokens.Clear();
            slot.Tokens.AddRange(prompt);
            slot.Decoded = keep;
            slot.PromptReused = keep;
            Interlocked.Add(ref _promptReused, keep);
        }

        AttachSampler(slot, request);
        Interlocked.Increment(ref _active);
    }

    /// <summary>
    /// Attaches the request's chain for in-graph sampling (or a top-k cut ahead of it), or detaches the slot's previous
    /// one. Every attach or detach makes llama.cpp re-plan its graph, so a finished request's chain stays attached to its
    /// idle slot (and alive) until the slot's next request replaces it: one re-plan per request instead of two; a top-k
    /// cut stays for every later request with the same k.
    /// </summary>
    private void AttachSampler(EngineSequence slot, EngineRequest request)
    {
        var previous = slot.Attached;
        slot.BackendSampler = false;
        // ggml's top-k aborts the process for a k beyond the row (a client's top_k of 1000 on a 489-token model): such
        // a chain samples on the CPU, where a k that keeps the whole vocabulary cuts nothing.
        var vocabulary = _model.Vocab.TokenCount;
        if (_options.TopKInGraph && request.Sampler.GraphTopK is > 0 and var k && k < vocabulary)
        {
            if (previous is not { IsTopKOnly: true } || previous.Settings.TopK != k)
            {
                var cut = LlamaSampler.TopKOnly(k);
                slot.Attached = _context.SetBackendSampler(slot.Id, cut) ? cut : null;
                if (slot.Attached is null) cut.Dispose();
            }
            request.Sampler.InGraph = slot.Attached is not null;
        }
        else if (_backendSampling && request.Sampler.Settings is { Grammar: null } s && !s.HasPenalties && s.TopK < vocabulary)
        {
            // On refusal llama.cpp has dropped the slot's previous chain as well.
            slot.BackendSampler = _context.SetBackendSampler(slot.Id, request.Sampler);
            slot.Attached = slot.BackendSampler ? request.Sampler : null;
            request.Sampler.InGraph = slot.BackendSampler;
        }
        else if (previous is not null)
        {
            _context.SetBackendSampler(slot.Id, null);
            slot.Attached = null;
        }
        if (previous is not null && !ReferenceEquals(previous, slot.Attached)) previous.Dispose();
    }

    /// <summary>Detaches and frees every chain still attached (before the context goes).</summary>
    private void DetachAllSamplers()
    {
        foreach (var slot in _slots)
        {
            if (slot.Attached is null) continue;
            _context.SetBackendSampler(slot.Id, null);
            slot.Attached.Dispose();
            slot.Attached = null;
            slot.BackendSampler = false;
        }
    }


    /// <summary>
    /// Gives <paramref name="target"/> the KV of the first <paramref name="length"/> positions of <paramref name="source"/>.
    /// Streams are separate, so llama.cpp copies the source's whole stream (on the device, before the next decode)
    /// and the target then drops the positions past the prefix; far cheaper than computing the prefix again.
    /// </summary>
    private void Share(EngineSequence source, EngineSequence target, int length)
    {
        if (length > 0)
        {
            _context.CopySequence(source.Id, target.Id);
            _context.RemoveSequence(target.Id, length);
        }
        target.Decoded = length;
        target.PromptReused = length;
        Interlocked.Add(ref _promptReused, length);
    }

    /// <summary>Completes waits on prefixes that their source has now computed, or will never compute.</summary>
    private void ResolveLinks()
    {
        foreach (var slot in _slots)
        {
            var source = slot.LinkSource;
            if (source is null) continue;
            if (source.Decoded >= slot.LinkLength || !source.IsActive) ResolveLink(slot);
        }
    }

    private void ResolveLink(EngineSequence slot)
    {
        var source = slot.LinkSource!;
        slot.LinkSource = null;
        var length = Math.Min(slot.LinkLength, CommonPrefix(CollectionsMarshal.AsSpan(slot.Tokens), source.Tokens, source.Decoded));
        Share(source, slot, length);
    }

    /// <summary>Before a sequence's KV changes or goes, every sequence waiting to share it takes what is there now.</summary>
    private void ReleaseLinksTo(EngineSequence source)
    {
        foreach (var slot in _slots)
            if (ReferenceEquals(slot.LinkSource, source)) ResolveLink(slot);
    }

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
            var (_, slot, admission) = _outputs[first + j];
            if (IsCurrent(slot, admission)) Accept(slot, admission, _sampled[j]);
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
    private void Accept(EngineSequence slot, long admission, int token)
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
            if (slot.Generated.Count >= request.MaxTokens || slot.Tokens.Count >= _options.ContextPerSequence) end = GenerationFinish.Length;
            else slot.Tokens.Add(token);
        }
        _accepted.Add(new AcceptedToken(slot, admission, token, end));
    }

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
        // An attached chain stays with the idle slot (see AttachSampler); any other is freed now.
        if (!ReferenceEquals(slot.Attached, request.Sampler)) request.Sampler.Dispose();
        request.Registration.Dispose();
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
                slot.FirstToken, _time.GetElapsedTime(request.SubmittedAt)) { CachedPromptTokens = slot.PromptReused };
            LogCompleted(_logger, slot.Id, result.PromptTokens, result.Tokens.Count, result.Finish);
            request.Completion.TrySetResult(result);
        }
    }

    private bool EvictIdleCaches()
    {
        var any = false;
        foreach (var slot in _slots)
        {
            if (slot.IsActive || slot.Decoded == 0) continue;
            _context.RemoveSequence(slot.Id);
            slot.ClearCache();
            any = true;
        }
        return any;
    }

    private void FailChunk(int start, int count, DecodeStatus status)
    {
        var message = status == DecodeStatus.NoKvSlot
            ? $"llama_decode found no KV space even for one token (Teacher:ParallelSequences × Teacher:ContextPerSequence = {_options.ParallelSequences * _options.ContextPerSequence} cells)"
            : $"llama_decode failed ({status}) for this request's tokens: {Native.NativeLog.TakeRecentProblems()}";
        LogDecodeFailed(_logger, status, count);
        var failed = new HashSet<EngineSequence>();
        for (var i = start; i < start + count; i++) failed.Add(_tokenOwner[i]);
        foreach (var slot in failed)
            if (slot.IsActive) Finish(slot, GenerationFinish.Length, error: new LlamaModelException(message));
    }

    private void FailEverything(Func<bool, Exception> error)
    {
        foreach (var slot in _slots)
        {
            if (!slot.IsActive) continue;
            var request = slot.End();
            if (!ReferenceEquals(slot.Attached, request.Sampler)) request.Sampler.Dispose();
            request.Registration.Dispose();
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
            request.Sampler.Dispose();
            request.Registration.Dispose();
            request.Completion.TrySetException(Cancelled(request) ?? error(false));
        }
        Volatile.Write(ref _queueDepth, 0);
    }

    // A caller that cancelled and then disposed the teacher (Ctrl+C) sees its own cancellation, not a disposal error.
    private static OperationCanceledException? Cancelled(EngineRequest request) =>
        request.Token.IsCancellationRequested ? new OperationCanceledException(request.Token) : null;

    private static int CommonPrefix(ReadOnlySpan<int> prompt, List<int> tokens, int limit) =>
        prompt.CommonPrefixLength(CollectionsMarshal.AsSpan(tokens)[..Math.Min(limit, tokens.Count)]);

    [LoggerMessage(EventId = 20, Level = LogLevel.Debug, Message = "engine slot {Slot} finished: {Prompt} prompt tokens, {Completion} generated, {Finish}")]
    private static partial void LogCompleted(ILogger logger, int slot, int prompt, int completion, GenerationFinish finish);

    [LoggerMessage(EventId = 21, Level = LogLevel.Warning, Message = "llama_decode returned {Status} for {Tokens} tokens; the requests in them failed and the loop goes on")]
    private static partial void LogDecodeFailed(ILogger logger, DecodeStatus status, int tokens);

    [LoggerMessage(EventId = 22, Level = LogLevel.Error, Message = "the generation engine stopped")]
    private static partial void LogEngineStopped(ILogger logger, Exception error);
}

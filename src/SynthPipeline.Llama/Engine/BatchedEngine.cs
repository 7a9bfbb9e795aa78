using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

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
            ContextSize = checked(_options.SlotCount * _options.ContextPerSequence),
            SequenceCount = _options.SlotCount,
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
        _slots = Enumerable.Range(0, _options.SlotCount).Select(i => new EngineSequence(i)).ToArray();
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
        if (request.TopLogprobs is < 0 or > TokenLogprob.MaxTop)
            throw new ArgumentException($"TopLogprobs is {request.TopLogprobs}; it must be between 0 and {TokenLogprob.MaxTop}", nameof(request));
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
            Interlocked.Read(ref _kvHeld), (long)_options.SlotCount * _options.ContextPerSequence,
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

    [LoggerMessage(EventId = 22, Level = LogLevel.Error, Message = "the generation engine stopped")]
    private static partial void LogEngineStopped(ILogger logger, Exception error);
}

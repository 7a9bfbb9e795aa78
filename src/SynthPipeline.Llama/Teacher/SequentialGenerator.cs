using SynthPipeline.Llama.Engine;
using System.Text;
using SynthPipeline.Core.Text;

namespace SynthPipeline.Llama.Teacher;

/// <summary>
/// Generates one sequence at a time on its own context: decode the prompt in batches, then sample, emit and decode
/// one token per step. Not thread-safe. The teacher runs on <see cref="Engine.BatchedEngine"/>; this plain loop is kept
/// as the one-sequence reference the engine's outputs are tested against.
/// </summary>
public sealed class SequentialGenerator : IDisposable
{
    private readonly LlamaContext _context;
    private readonly LlamaBatch _batch;
    private readonly TimeProvider _time;

    public SequentialGenerator(LlamaContext context, TimeProvider? timeProvider = null)
    {
        _context = context ?? throw new ArgumentNullException(nameof(context));
        _batch = new LlamaBatch(context.BatchSize);
        _time = timeProvider ?? TimeProvider.System;
    }

    public LlamaContext Context => _context;

    /// <summary>Runs one generation. <paramref name="onText"/> receives text as it becomes safe to emit.</summary>
    /// <exception cref="PromptTooLongException">The prompt does not fit the context.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; takes effect within one decode step.</exception>
    public GenerationResult Generate(GenerationRequest request, Action<string>? onText, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var model = _context.Model;
        var prompt = request.PromptTokens;
        var nCtx = _context.ContextSize;
        if (prompt.Count == 0) throw new ArgumentException("the prompt is empty", nameof(request));
        if (prompt.Count >= nCtx) throw new PromptTooLongException(prompt.Count, nCtx);

        var start = _time.GetTimestamp();
        using var sampler = LlamaSampler.Create(model, request.Sampling);
        using var abort = _context.AbortOn(cancellationToken);
        _context.ClearMemory();

        for (var i = 0; i < prompt.Count; i += _batch.Capacity)
        {
            _batch.Clear();
            var n = Math.Min(_batch.Capacity, prompt.Count - i);
            for (var j = 0; j < n; j++) _batch.Add(prompt[i + j], i + j, 0, wantLogits: i + j == prompt.Count - 1);
            Check(_context.Decode(_batch), cancellationToken);
        }

        var decoder = new TokenTextDecoder(model.Vocab);
        var stops = new StopSequenceMatcher(request.StopSequences);
        var text = new StringBuilder();
        var tokens = new List<int>();
        var firstToken = TimeSpan.Zero;
        var position = prompt.Count;
        var logitsIndex = _batch.Count - 1;
        var finish = GenerationFinish.Length;

        void Emit(string s)
        {
            if (s.Length == 0) return;
            text.Append(s);
            onText?.Invoke(s);
        }

        while (tokens.Count < request.MaxTokens)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var token = sampler.Sample(_context, logitsIndex);
            if (tokens.Count == 0) firstToken = _time.GetElapsedTime(start);
            request.OnToken?.Invoke(token);
            if (!request.IgnoreEndOfGeneration && model.Vocab.IsEndOfGeneration(token))
            {
                finish = GenerationFinish.EndOfTurn;
                break;
            }
            tokens.Add(token);
            Emit(stops.Append(decoder.Append(token)));
            if (stops.Stopped)
            {
                finish = GenerationFinish.StopSequence;
                break;
            }
            if (tokens.Count >= request.MaxTokens || position + 1 >= nCtx) break;
            _batch.Clear();
            _batch.Add(token, position++, 0, wantLogits: true);
            Check(_context.Decode(_batch), cancellationToken);
            logitsIndex = 0;
        }
        if (!stops.Stopped) Emit(stops.Flush());
        return new GenerationResult(text.ToString(), tokens, finish, prompt.Count, firstToken, _time.GetElapsedTime(start));
    }

    private static void Check(DecodeStatus status, CancellationToken cancellationToken)
    {
        if (status == DecodeStatus.Ok) return;
        cancellationToken.ThrowIfCancellationRequested();
        throw new LlamaModelException(status switch
        {
            DecodeStatus.NoKvSlot => "llama_decode found no KV slot: the context is full (raise Teacher:ContextSize)",
            DecodeStatus.Aborted => "llama_decode was aborted",
            _ => $"llama_decode failed ({status})",
        });
    }

    public void Dispose() => _batch.Dispose();
}

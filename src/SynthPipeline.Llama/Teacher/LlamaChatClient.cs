using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SynthPipeline.Llama.Engine;

namespace SynthPipeline.Llama.Teacher;

/// <summary>
/// The in-process teacher: an <see cref="IChatClient"/> over a local GGUF model. Concurrent requests are decoded
/// together by a <see cref="BatchedEngine"/> (continuous batching on its own thread); callers never block on native code.
/// </summary>
public sealed partial class LlamaChatClient : IChatClient
{
    private readonly LlamaModel _model;
    private readonly LlamaChatClientOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly BatchedEngine _engine;
    private readonly ChatClientMetadata _metadata;
    private readonly List<LlamaLoraAdapter> _adapters = [];
    private bool _disposed;

    public LlamaChatClient(LlamaModel model, LlamaChatClientOptions? options = null, ILogger<LlamaChatClient>? logger = null, TimeProvider? timeProvider = null)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _options = options ?? new LlamaChatClientOptions();
        _options.DefaultSampling.Validate();
        _logger = logger ?? NullLogger<LlamaChatClient>.Instance;
        _time = timeProvider ?? TimeProvider.System;
        try
        {
            foreach (var (path, _) in _options.LoraAdapters) _adapters.Add(LlamaLoraAdapter.Load(model, path));
            _engine = new BatchedEngine(model, _options.Engine, _adapters.Select((a, i) => (a, _options.LoraAdapters[i].Scale)).ToList(), _logger, _time);
        }
        catch
        {
            foreach (var a in _adapters) a.Dispose();
            throw;
        }
        var modelId = _options.ModelId ?? Path.GetFileNameWithoutExtension(model.Path);
        _metadata = new ChatClientMetadata("llama.cpp", new Uri("file://" + model.Path), modelId);
    }

    /// <summary>Response property: milliseconds from the request reaching the model to its first token.</summary>
    public const string TimeToFirstTokenMsKey = "ttft_ms";

    /// <summary>Response property: generated tokens per second after the first token.</summary>
    public const string DecodeTokensPerSecondKey = "decode_tokens_per_s";

    /// <summary>
    /// Streamed text is handed to the reader at most this often. Waking the reader for every token costs a context
    /// switch that, on a small CPU, preempts a decode thread; 20 ms is still smooth for a person watching.
    /// </summary>
    public static readonly TimeSpan StreamFlushInterval = TimeSpan.FromMilliseconds(20);

    public LlamaModel Model => _model;

    /// <summary>The engine's queue, sequences, rates and KV use.</summary>
    public EngineMetrics Metrics() => _engine.Metrics();

    /// <summary>The formatted prompt for <paramref name="messages"/>: the chat template applied, ending with the assistant prompt.</summary>
    public string FormatPrompt(IEnumerable<ChatMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var turns = messages.Select(m => new TemplateMessage(m.Role.Value, m.Text)).ToList();
        return ChatTemplate.Apply(_options.ChatTemplate ?? _model.ChatTemplate, turns, addAssistantPrompt: true);
    }

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var result = await RunAsync(messages, options, onText: null, cancellationToken).ConfigureAwait(false);
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, result.Text))
        {
            FinishReason = MapFinish(result.Finish),
            Usage = Usage(result),
            ModelId = _metadata.DefaultModelId,
            CreatedAt = _time.GetUtcNow(),
            AdditionalProperties = WithLogprobs(result, new()
            {
                [TimeToFirstTokenMsKey] = result.TimeToFirstToken.TotalMilliseconds,
                [DecodeTokensPerSecondKey] = result.DecodeTokensPerSecond,
            }),
        };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // The worker never waits for the reader; a reader that stops early cancels the generation through `linked`.
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var channel = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var coalescer = new StreamCoalescer(channel.Writer, _time, StreamFlushInterval);
        var run = Task.Run(async () =>
        {
            try
            {
                return await RunAsync(messages, options, coalescer.Add, linked.Token).ConfigureAwait(false);
            }
            finally
            {
                coalescer.Flush();
                channel.Writer.TryComplete();
            }
        }, CancellationToken.None);

        try
        {
            await foreach (var piece in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                // ReadAllAsync only observes the token while it waits; buffered pieces must not outrun a cancel.
                cancellationToken.ThrowIfCancellationRequested();
                yield return new ChatResponseUpdate(ChatRole.Assistant, piece) { ModelId = _metadata.DefaultModelId };
            }

            var result = await run.ConfigureAwait(false);
            yield return new ChatResponseUpdate
            {
                Role = ChatRole.Assistant,
                FinishReason = MapFinish(result.Finish),
                ModelId = _metadata.DefaultModelId,
                Contents = [new UsageContent(Usage(result))],
                AdditionalProperties = result.Logprobs is null ? null : WithLogprobs(result, []),
            };
        }
        finally
        {
            if (!run.IsCompleted)
            {
                await linked.CancelAsync().ConfigureAwait(false);
                try
                {
                    await run.ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // expected: the reader left early
                }
            }
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(ChatClientMetadata)) return _metadata;
        if (serviceType == typeof(LlamaModel)) return _model;
        if (serviceType == typeof(BatchedEngine)) return _engine;
        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <summary>
    /// Stops the requests in flight (within one decode step) and fails queued ones with
    /// <see cref="ObjectDisposedException"/>, then frees the context and adapters.
    /// </summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _engine.Dispose();
        foreach (var a in _adapters) a.Dispose();
    }

    private async Task<GenerationResult> RunAsync(IEnumerable<ChatMessage> messages, ChatOptions? options, Action<string>? onText, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var sampling = ChatOptionsMapper.ToSampling(options, _options.DefaultSampling);
        var prompt = ChatOptionsMapper.IsRawPrompt(options) ? string.Concat(messages.Select(m => m.Text)) : FormatPrompt(messages);
        var tokens = _model.Vocab.Tokenize(prompt, addSpecial: _model.Vocab.AddsBos, parseSpecial: true);
        var request = new GenerationRequest(tokens, sampling, options?.MaxOutputTokens ?? _options.DefaultMaxOutputTokens,
            options?.StopSequences?.ToList() ?? [])
        {
            IgnoreEndOfGeneration = ChatOptionsMapper.IgnoreEndOfGeneration(options),
            Priority = ChatOptionsMapper.Priority(options),
            TopLogprobs = ChatOptionsMapper.TopLogprobs(options),
            ForcedTokens = ChatOptionsMapper.ForcedAnswer(options) is { } forced ? _model.Vocab.Tokenize(forced, addSpecial: false, parseSpecial: false) : null,
        };
        var result = await _engine.GenerateAsync(request, onText, cancellationToken).ConfigureAwait(false);
        LogGenerated(_logger, result.PromptTokens, result.Tokens.Count, result.TimeToFirstToken.TotalMilliseconds, result.DecodeTokensPerSecond, result.Finish);
        return result;
    }

    private static AdditionalPropertiesDictionary WithLogprobs(GenerationResult result, AdditionalPropertiesDictionary properties)
    {
        if (result.Logprobs is { } logprobs) properties[ChatOptionsMapper.LogprobsKey] = logprobs;
        return properties;
    }

    private static UsageDetails Usage(GenerationResult r) => new()
    {
        InputTokenCount = r.PromptTokens,
        OutputTokenCount = r.Tokens.Count,
        TotalTokenCount = r.PromptTokens + r.Tokens.Count,
        CachedInputTokenCount = r.CachedPromptTokens,
    };

    private static ChatFinishReason MapFinish(GenerationFinish finish) => finish == GenerationFinish.Length ? ChatFinishReason.Length : ChatFinishReason.Stop;

    [LoggerMessage(EventId = 10, Level = LogLevel.Debug,
        Message = "teacher generated {Completion} tokens for a {Prompt}-token prompt: first token after {TtftMs:F1} ms, {TokensPerSecond:F1} tokens/s, finish {Finish}")]
    private static partial void LogGenerated(ILogger logger, int prompt, int completion, double ttftMs, double tokensPerSecond, GenerationFinish finish);

    private sealed class StreamCoalescer(ChannelWriter<string> writer, TimeProvider time, TimeSpan interval)
    {
        private readonly System.Text.StringBuilder _pending = new();
        private long _lastFlush;

        public void Add(string text)
        {
            _pending.Append(text);
            // The first piece goes out at once so time-to-first-token stays honest.
            if (_lastFlush == 0 || time.GetElapsedTime(_lastFlush) >= interval) Flush();
        }

        public void Flush()
        {
            if (_pending.Length == 0) return;
            writer.TryWrite(_pending.ToString());
            _pending.Clear();
            _lastFlush = time.GetTimestamp();
        }
    }
}

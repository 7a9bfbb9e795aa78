using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using SynthPipeline.Core;
using SynthPipeline.Llama;
using SynthPipeline.Llama.Engine;
using SynthPipeline.Llama.Teacher;

namespace SynthPipeline.Server;

/// <summary>
/// <c>POST /v1/chat/completions</c> and <c>POST /v1/completions</c>: reads and validates the body, runs it on the
/// engine (each of its <c>n</c> choices as its own sequence) and answers whole or as server-sent events. A client
/// that disconnects cancels its sequences (the request's abort token reaches the engine). Refusals are 400s in
/// OpenAI's error shape naming the field; a prompt over the context is refused before any byte of an answer is sent.
/// </summary>
internal sealed partial class CompletionHandler(IChatClient model, string modelId, ServerCounters counters, TimeProvider time, ILogger logger)
{
    public async Task HandleAsync(HttpContext http, ServedApi api)
    {
        ServedRequest request;
        try
        {
            using var body = await JsonDocument.ParseAsync(http.Request.Body, cancellationToken: http.RequestAborted).ConfigureAwait(false);
            request = api == ServedApi.Chat ? RequestReader.ReadChat(body.RootElement) : RequestReader.ReadCompletion(body.RootElement);
        }
        catch (JsonException e)
        {
            counters.Refused();
            await WriteErrorAsync(http, 400, "invalid_request_error", null, null, $"the request body is not valid JSON: {e.Message}").ConfigureAwait(false);
            return;
        }
        catch (InvalidRequestException e)
        {
            counters.Refused();
            LogRefused(logger, e.Param ?? "(body)", e.Message);
            await WriteErrorAsync(http, 400, "invalid_request_error", e.Param, e.Code, e.Message).ConfigureAwait(false);
            return;
        }

        counters.Started();
        var outcome = ServedOutcome.Failed;
        var promptField = api == ServedApi.Chat ? "messages" : "prompt";
        try
        {
            if (request.Stream) await StreamAsync(http, request).ConfigureAwait(false);
            else await AnswerAsync(http, request).ConfigureAwait(false);
            outcome = ServedOutcome.Ok;
        }
        catch (Exception) when (http.RequestAborted.IsCancellationRequested)
        {
            // Whatever the write or the model threw, the cause is the client leaving.
            outcome = ServedOutcome.Disconnected;
            LogDisconnected(logger);
        }
        catch (PromptTooLongException e)
        {
            outcome = ServedOutcome.Invalid;
            await WriteErrorAsync(http, 400, "invalid_request_error", promptField, "context_length_exceeded",
                $"'{promptField}' is {e.PromptTokens} tokens; this server's context holds {e.ContextSize} per sequence (prompt and answer together)").ConfigureAwait(false);
        }
        catch (InvalidGrammarException e)
        {
            outcome = ServedOutcome.Invalid;
            await WriteErrorAsync(http, 400, "invalid_request_error", "grammar", null, e.Message).ConfigureAwait(false);
        }
        catch (UserErrorException e)
        {
            outcome = ServedOutcome.Invalid;
            await WriteErrorAsync(http, 400, "invalid_request_error", null, null, e.Message).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // a failed generation is the server's fault: a 500 for this request, the server stays up
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogFailed(logger, e);
            await WriteErrorAsync(http, 500, "server_error", null, null, "the server failed to generate an answer; see its log").ConfigureAwait(false);
        }
        finally
        {
            counters.Ended(outcome);
        }
    }

    private async Task AnswerAsync(HttpContext http, ServedRequest request)
    {
        var responses = await ChoiceFanOut.ResponsesAsync(model, request, http.RequestAborted).ConfigureAwait(false);
        var json = OpenAiJson.Response(request.Api, Id(request.Api), time.GetUtcNow().ToUnixTimeSeconds(), modelId,
            [.. responses.Select(r => (r.Text, r.FinishReason, Logprobs(r.AdditionalProperties)))], OpenAiJson.Combined([.. responses.Select(r => r.Usage)]));
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(json.ToJsonString(), http.RequestAborted).ConfigureAwait(false);
    }

    private async Task StreamAsync(HttpContext http, ServedRequest request)
    {
        var id = Id(request.Api);
        var created = time.GetUtcNow().ToUnixTimeSeconds();
        var ct = http.RequestAborted;
        var updates = ChoiceFanOut.UpdatesAsync(model, request, ct).GetAsyncEnumerator(ct);
        await using var _ = updates.ConfigureAwait(false);
        // The first piece comes before any header, so a prompt over the context is still a clean 400.
        var more = await updates.MoveNextAsync().ConfigureAwait(false);
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        if (request.Api == ServedApi.Chat)
            for (var i = 0; i < request.Choices; i++)
                await SendAsync(http, OpenAiJson.Chunk(request.Api, id, created, modelId, i, "", "assistant", null)).ConfigureAwait(false);
        var finishes = new ChatFinishReason?[request.Choices];
        var usages = new UsageDetails?[request.Choices];
        var logprobs = new IReadOnlyList<TokenLogprob>?[request.Choices];
        while (more)
        {
            var (choice, update) = updates.Current;
            if (update is null)
                await SendAsync(http, OpenAiJson.Chunk(request.Api, id, created, modelId, choice, null, null, finishes[choice] ?? ChatFinishReason.Stop, logprobs[choice])).ConfigureAwait(false);
            else
            {
                if (update.Text.Length > 0) await SendAsync(http, OpenAiJson.Chunk(request.Api, id, created, modelId, choice, update.Text, null, null)).ConfigureAwait(false);
                finishes[choice] = update.FinishReason ?? finishes[choice];
                usages[choice] = update.Contents.OfType<UsageContent>().FirstOrDefault()?.Details ?? usages[choice];
                logprobs[choice] = Logprobs(update.AdditionalProperties) ?? logprobs[choice];
            }
            more = await updates.MoveNextAsync().ConfigureAwait(false);
        }
        if (request.IncludeUsage) await SendAsync(http, OpenAiJson.UsageChunk(request.Api, id, created, modelId, OpenAiJson.Combined(usages))).ConfigureAwait(false);
        await http.Response.WriteAsync("data: [DONE]\n\n", ct).ConfigureAwait(false);
    }

    private static async Task SendAsync(HttpContext http, JsonObject chunk)
    {
        await http.Response.WriteAsync("data: " + chunk.ToJsonString() + "\n\n", http.RequestAborted).ConfigureAwait(false);
        await http.Response.Body.FlushAsync(http.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>An error in OpenAI's shape; after a stream has started, an error event instead (the status is already sent).</summary>
    internal static async Task WriteErrorAsync(HttpContext http, int status, string type, string? param, string? code, string message)
    {
        var json = OpenAiJson.Error(message, type, param, code).ToJsonString();
        if (http.Response.HasStarted)
        {
            await http.Response.WriteAsync("data: " + json + "\n\n", CancellationToken.None).ConfigureAwait(false);
            return;
        }
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(json, Encoding.UTF8, CancellationToken.None).ConfigureAwait(false);
    }

    private static IReadOnlyList<TokenLogprob>? Logprobs(AdditionalPropertiesDictionary? properties) =>
        properties?.TryGetValue(ChatOptionsMapper.LogprobsKey, out var value) == true ? value as IReadOnlyList<TokenLogprob> : null;

    private static string Id(ServedApi api) => (api == ServedApi.Chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N");

    [LoggerMessage(EventId = 80, Level = LogLevel.Information, Message = "refused a request: {Param}: {Why}")]
    private static partial void LogRefused(ILogger logger, string param, string why);

    [LoggerMessage(EventId = 81, Level = LogLevel.Information, Message = "a client disconnected; its sequence was cancelled")]
    private static partial void LogDisconnected(ILogger logger);

    [LoggerMessage(EventId = 82, Level = LogLevel.Error, Message = "a generation failed")]
    private static partial void LogFailed(ILogger logger, Exception failure);
}

using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.AI;
using Spectre.Console;
using SynthPipeline.Cli.Hosting;
using SynthPipeline.Llama.Teacher;
using SynthPipeline.Pipeline.Teacher;

namespace SynthPipeline.Cli.Commands;

/// <summary><c>synth chat</c>: streams the teacher's answer to one prompt.</summary>
internal static class ChatCommand
{
    public static Command Create()
    {
        var model = new Option<string?>("--model", "-m") { Description = "Teacher GGUF (overrides Teacher:ModelPath; default: the demo model)" };
        var prompt = new Option<string>("--prompt", "-p") { Description = "The user message", Required = true };
        var system = new Option<string?>("--system") { Description = "An optional system message" };
        var maxTokens = new Option<int?>("--max-tokens", "-n") { Description = "Maximum tokens to generate (default: Teacher:MaxOutputTokens)" };
        var temperature = new Option<float?>("--temperature", "-t") { Description = "Sampling temperature; 0 is greedy" };
        var seed = new Option<long?>("--seed") { Description = "Seed for reproducible sampling" };
        var json = new Option<bool>("--json") { Description = "Constrain the answer to a JSON object" };
        var jsonSchema = new Option<FileInfo?>("--json-schema") { Description = "Constrain the answer to JSON that validates against this JSON Schema file" };
        var grammar = new Option<FileInfo?>("--grammar-file") { Description = "Constrain the answer with a GBNF grammar file" };
        var lora = new Option<FileInfo?>("--lora") { Description = "Apply a GGUF LoRA adapter" };
        var loraScale = new Option<float>("--lora-scale") { Description = "Scale of the LoRA adapter", DefaultValueFactory = _ => 1f };
        var ignoreEos = new Option<bool>("--ignore-eos") { Description = "Keep generating past end-of-turn tokens (benchmarks)" };
        var noStream = new Option<bool>("--no-stream") { Description = "Print the answer when it is complete instead of streaming it" };
        var stats = new Option<bool>("--stats") { Description = "Print prompt/completion tokens, time to first token and tokens/s to stderr" };
        var command = new Command("chat", "Stream the teacher's answer to a prompt") { model, prompt, system, maxTokens, temperature, seed, json, jsonSchema, grammar, lora, loraScale, ignoreEos, noStream, stats };

        command.SetAction(async (parse, cancellationToken) =>
        {
            var configuration = AppConfiguration.Build();
            var teacher = AppConfiguration.Teacher(configuration);
            if (parse.GetValue(model) is { } m) teacher.ModelPath = m;
            teacher.Validate();
            var stderr = ConsoleExtensions.ForStandardError();
            using var loggers = Logging.Create(configuration);
            var path = LocalTeacher.ResolveModelPath(teacher, stderr.Notice);
            using var llama = LocalTeacher.LoadModel(teacher, path, loggers, cancellationToken);
            var adapters = parse.GetValue(lora) is { } l ? new List<(string, float)> { (l.FullName, parse.GetValue(loraScale)) } : null;
            using var client = LocalTeacher.CreateClient(llama, teacher, loggers, adapters);

            var options = new ChatOptions
            {
                MaxOutputTokens = parse.GetValue(maxTokens),
                Temperature = parse.GetValue(temperature),
                Seed = parse.GetValue(seed),
                ResponseFormat = parse.GetValue(json) ? ChatResponseFormat.Json : null,
            };
            if (parse.GetValue(ignoreEos)) (options.AdditionalProperties ??= [])[ChatOptionsMapper.IgnoreEosKey] = true;
            await ChatConstraints.ApplyAsync(options, parse.GetValue(jsonSchema), parse.GetValue(grammar), cancellationToken).ConfigureAwait(false);
            var messages = new List<ChatMessage>();
            if (parse.GetValue(system) is { } s) messages.Add(new ChatMessage(ChatRole.System, s));
            messages.Add(new ChatMessage(ChatRole.User, parse.GetValue(prompt)!));

            if (parse.GetValue(noStream))
            {
                var response = await client.GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
                await Console.Out.WriteLineAsync(response.Text).ConfigureAwait(false);
                if (parse.GetValue(stats) && response.Usage is { } u)
                    await WriteStatsAsync(u, (double)response.AdditionalProperties![LlamaChatClient.TimeToFirstTokenMsKey]!,
                        (double)response.AdditionalProperties[LlamaChatClient.DecodeTokensPerSecondKey]!, null).ConfigureAwait(false);
                return 0;
            }

            var started = TimeProvider.System.GetTimestamp();
            TimeSpan? firstToken = null;
            UsageDetails? usage = null;
            await foreach (var update in client.GetStreamingResponseAsync(messages, options, cancellationToken).ConfigureAwait(false))
            {
                if (update.Text.Length > 0)
                {
                    firstToken ??= TimeProvider.System.GetElapsedTime(started);
                    await Console.Out.WriteAsync(update.Text).ConfigureAwait(false);
                }
                usage = update.Contents.OfType<UsageContent>().FirstOrDefault()?.Details ?? usage;
            }
            await Console.Out.WriteLineAsync().ConfigureAwait(false);
            if (parse.GetValue(stats) && usage is not null)
            {
                var total = TimeProvider.System.GetElapsedTime(started);
                var ttft = firstToken ?? total;
                var decodeRate = usage.OutputTokenCount > 1 && total > ttft ? (usage.OutputTokenCount.Value - 1) / (total - ttft).TotalSeconds : 0;
                await WriteStatsAsync(usage, ttft.TotalMilliseconds, decodeRate, total.TotalMilliseconds).ConfigureAwait(false);
            }
            return 0;
        });
        return command;
    }

    private static Task WriteStatsAsync(UsageDetails usage, double ttftMs, double decodeRate, double? totalMs)
    {
        var line = string.Create(CultureInfo.InvariantCulture,
            $"prompt_tokens={usage.InputTokenCount} completion_tokens={usage.OutputTokenCount} ttft_ms={ttftMs:F1} decode_tokens_per_s={decodeRate:F1}");
        if (totalMs is { } t) line += string.Create(CultureInfo.InvariantCulture, $" total_ms={t:F1}");
        return Console.Error.WriteLineAsync(line);
    }
}

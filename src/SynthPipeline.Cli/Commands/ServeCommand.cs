using System.CommandLine;
using Spectre.Console;
using SynthPipeline.Cli.Hosting;
using SynthPipeline.Pipeline.Teacher;
using SynthPipeline.Server;

namespace SynthPipeline.Cli.Commands;

/// <summary><c>synth serve</c>: the local engine as an OpenAI-compatible server, to join a fleet.</summary>
internal static class ServeCommand
{
    public const string DefaultKeyVariable = "SYNTH_SERVE_API_KEY";

    public static Command Create()
    {
        var model = new Option<string?>("--model", "-m") { Description = "GGUF to serve (overrides Teacher:ModelPath; default: the demo model)" };
        var host = new Option<string>("--host") { Description = "Address to bind; anything but loopback needs an API key", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "TCP port (0 picks a free one)", DefaultValueFactory = _ => 8080 };
        var apiKey = new Option<string?>("--api-key") { Description = $"Environment variable holding the key clients must send (default: {DefaultKeyVariable} when set); never the key itself" };
        var modelId = new Option<string?>("--model-id") { Description = "Model name clients ask for (default: the GGUF file name)" };
        var command = new Command("serve", "Serve the teacher over an OpenAI-compatible API (chat/completions, completions, models, health, metrics)")
        {
            model, host, port, apiKey, modelId,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var configuration = AppConfiguration.Build();
            var teacher = AppConfiguration.Teacher(configuration);
            if (parse.GetValue(model) is { } m) teacher.ModelPath = m;
            teacher.Endpoints = [];
            teacher.Validate();
            var variable = parse.GetValue(apiKey);
            var key = Environment.GetEnvironmentVariable(variable ?? DefaultKeyVariable);
            if (variable is not null && string.IsNullOrEmpty(key))
                throw new Core.Options.OptionsValidationError([$"--api-key: the environment variable {variable} is not set; export the key in it"]);
            // Checked before the model loads, so a wrong flag costs nothing.
            var options = new ServeOptions
            {
                Host = parse.GetValue(host)!,
                Port = parse.GetValue(port),
                ApiKey = string.IsNullOrEmpty(key) ? null : key,
                ApiKeySource = variable is null ? "--api-key" : $"--api-key ({variable})",
                ModelId = parse.GetValue(modelId) ?? "model",
            }.Validate();
            var stderr = ConsoleExtensions.ForStandardError();
            using var loggers = Logging.Create(configuration);
            using var local = LocalTeacher.Load(teacher, loggers, stderr.Notice, cancellationToken);
            options = options with { ModelId = parse.GetValue(modelId) ?? Path.GetFileNameWithoutExtension(local.Model.Path) };
            await using var server = await SynthServer.StartAsync(local.Client, options, loggers, cancellationToken: cancellationToken).ConfigureAwait(false);
            // Scripts and tests read this line to find the port.
            await Console.Out.WriteLineAsync($"serving {options.ModelId} at {server.Address}/v1 ({(options.ApiKey is null ? "no API key" : "API key required")}); Ctrl+C stops").ConfigureAwait(false);
            // Not cancellable: the reader may answer the line with Ctrl+C at once, and a flush cancelled after the line went
            // out would end the command before its graceful stop.
            await Console.Out.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            await server.WaitAsync(cancellationToken).ConfigureAwait(false);
            stderr.MarkupLine("[grey]stopped: requests in flight were ended[/]");
            // Ctrl+C is how a server ends, and 130 says so, as for every other command.
            return SynthApp.ExitCancelled;
        });
        return command;
    }
}

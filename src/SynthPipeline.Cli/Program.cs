using SynthPipeline.Cli;

return await SynthApp.RunAsync(args).ConfigureAwait(false);

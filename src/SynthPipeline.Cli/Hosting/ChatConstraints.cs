using Microsoft.Extensions.AI;
using SynthPipeline.Core;
using SynthPipeline.Llama.Teacher;

namespace SynthPipeline.Cli.Hosting;

/// <summary><c>synth chat</c>'s output constraints from files: a JSON Schema (--json-schema) or a GBNF grammar (--grammar-file).</summary>
internal static class ChatConstraints
{
    /// <exception cref="UserErrorException">A file is missing or the schema is not JSON; the message names the file and the flag.</exception>
    public static async Task ApplyAsync(ChatOptions options, FileInfo? schemaFile, FileInfo? grammarFile, CancellationToken cancellationToken)
    {
        if (schemaFile is not null)
        {
            if (!schemaFile.Exists) throw new UserErrorException($"JSON Schema file '{schemaFile.FullName}' (--json-schema) does not exist");
            try
            {
                using var schema = System.Text.Json.JsonDocument.Parse(await File.ReadAllTextAsync(schemaFile.FullName, cancellationToken).ConfigureAwait(false));
                options.ResponseFormat = ChatResponseFormat.ForJsonSchema(schema.RootElement.Clone());
            }
            catch (System.Text.Json.JsonException e)
            {
                throw new UserErrorException($"JSON Schema file '{schemaFile.FullName}' is not valid JSON: {e.Message}", e);
            }
        }
        if (grammarFile is not null)
        {
            if (!grammarFile.Exists) throw new UserErrorException($"grammar file '{grammarFile.FullName}' (--grammar-file) does not exist");
            (options.AdditionalProperties ??= [])[ChatOptionsMapper.GrammarKey] = await File.ReadAllTextAsync(grammarFile.FullName, cancellationToken).ConfigureAwait(false);
        }
    }
}

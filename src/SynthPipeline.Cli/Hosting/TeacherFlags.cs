using System.CommandLine;
using SynthPipeline.Core.Options;

namespace SynthPipeline.Cli.Hosting;

/// <summary>
/// The teacher flags every data command takes: <c>--model</c> for the local GGUF, or <c>--teacher-url</c> (repeatable)
/// with <c>--teacher-model</c> for OpenAI-compatible servers. Endpoints given by flags read their API key from
/// <c>OPENAI_API_KEY</c> when it is set; <c>Teacher:Endpoints</c> in settings names a variable per endpoint.
/// </summary>
internal sealed class TeacherFlags
{
    private readonly Option<string?> _model = new("--model", "-m") { Description = "Teacher GGUF (overrides Teacher:ModelPath; default: the demo model)" };
    private readonly Option<string[]> _urls = new("--teacher-url") { Description = "OpenAI-compatible server (repeatable; replaces Teacher:Endpoints), e.g. http://gpu-1:8000/v1", AllowMultipleArgumentsPerToken = false };
    private readonly Option<string?> _teacherModel = new("--teacher-model") { Description = "Model name the --teacher-url servers serve" };

    public const string KeyVariable = "OPENAI_API_KEY";

    public void AddTo(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.Options.Add(_model);
        command.Options.Add(_urls);
        command.Options.Add(_teacherModel);
    }

    /// <summary>The <c>Teacher</c> section of <paramref name="configuration"/> with these flags applied, validated once.</summary>
    public TeacherOptions Resolve(ParseResult parse, Microsoft.Extensions.Configuration.IConfiguration configuration)
    {
        var teacher = AppConfiguration.Teacher(configuration);
        Apply(parse, teacher);
        teacher.Validate();
        return teacher;
    }

    private void Apply(ParseResult parse, TeacherOptions teacher)
    {
        ArgumentNullException.ThrowIfNull(parse);
        ArgumentNullException.ThrowIfNull(teacher);
        if (parse.GetValue(_model) is { } m) teacher.ModelPath = m;
        var urls = parse.GetValue(_urls) ?? [];
        var model = parse.GetValue(_teacherModel);
        if (urls.Length > 0)
        {
            var key = string.IsNullOrEmpty(Environment.GetEnvironmentVariable(KeyVariable)) ? null : KeyVariable;
            teacher.Endpoints = [.. urls.Select(u => new TeacherEndpointOptions { Url = u, Model = model ?? "", ApiKeyVariable = key })];
        }
        else if (model is not null)
        {
            foreach (var e in teacher.Endpoints) e.Model = model;
        }
    }
}

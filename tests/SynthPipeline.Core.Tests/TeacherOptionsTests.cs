using SynthPipeline.Core.Options;

namespace SynthPipeline.Core.Tests;

public sealed class TeacherOptionsTests
{
    [Fact]
    public void Validate_Defaults_Pass() => new TeacherOptions().Validate();

    [Fact]
    public void Validate_SeveralBadSettings_ReportsEachByItsKey()
    {
        var options = new TeacherOptions { ContextPerSequence = -5, TopP = 2, ModelPath = "/no/such/model.gguf", NativeLibraryPath = "/no/such/dir" };
        var e = Assert.Throws<OptionsValidationError>(() => options.Validate());
        Assert.Contains(e.Errors, x => x.StartsWith("Teacher:ContextPerSequence", StringComparison.Ordinal));
        Assert.Contains(e.Errors, x => x.StartsWith("Teacher:TopP", StringComparison.Ordinal));
        Assert.Contains(e.Errors, x => x.StartsWith("Teacher:ModelPath", StringComparison.Ordinal) && x.Contains("/no/such/model.gguf", StringComparison.Ordinal));
        Assert.Contains(e.Errors, x => x.StartsWith("Teacher:NativeLibraryPath", StringComparison.Ordinal));
        Assert.Equal(4, e.Errors.Count);
    }
    [Fact]
    public void Validate_RehearsalWithGenerateOnAnEndpoint_NamesTheSettingAndTheWayOut()
    {
        var options = new TeacherOptions { Rehearsal = true, Endpoints = [new TeacherEndpointOptions { Url = "http://127.0.0.1:9/v1", Model = "m" }] };

        var e = Assert.Throws<OptionsValidationError>(() => options.Validate());

        var error = Assert.Single(e.Errors);
        Assert.StartsWith("Teacher:Rehearsal", error, StringComparison.Ordinal);
        Assert.Contains("Teacher:Roles:Generate", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_RehearsalWithGenerateLocal_Passes() =>
        new TeacherOptions { Rehearsal = true, Endpoints = [new TeacherEndpointOptions { Url = "http://127.0.0.1:9/v1", Model = "m" }], Roles = { [TeacherRole.Generate] = "local" } }.Validate();
}

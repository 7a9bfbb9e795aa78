using Microsoft.Extensions.Configuration;
using SynthPipeline.Cli.Hosting;
using SynthPipeline.Core.Options;

namespace SynthPipeline.Cli.Tests;

/// <summary>The teacher's fleet settings as users write them (appsettings.json keys or environment variables) bind and validate.</summary>
public sealed class TeacherSettingsTests
{
    private static TeacherOptions Bind(Dictionary<string, string?> values) =>
        AppConfiguration.Teacher(new ConfigurationBuilder().AddInMemoryCollection(values).Build());

    [Fact]
    public void Teacher_RolesModeNamesAndPrices_BindByName()
    {
        var teacher = Bind(new()
        {
            ["Teacher:Endpoints:0:Name"] = "big", ["Teacher:Endpoints:0:Url"] = "http://gpu-1:8000/v1", ["Teacher:Endpoints:0:Model"] = "m",
            ["Teacher:Endpoints:0:PricePerMillionOutput"] = "0.9",
            ["Teacher:Endpoints:1:Name"] = "small", ["Teacher:Endpoints:1:Url"] = "http://gpu-2:8000/v1", ["Teacher:Endpoints:1:Model"] = "s",
            ["Teacher:Roles:Judge"] = "small", ["Teacher:Roles:Classify"] = "local", ["Teacher:Mode"] = "completion",
        }).Validate();

        Assert.Equal(TeacherMode.Completion, teacher.Mode);
        Assert.Equal([1], teacher.EndpointsFor(TeacherRole.Judge));
        Assert.Empty(teacher.EndpointsFor(TeacherRole.Classify));
        Assert.Equal([0, 1], teacher.EndpointsFor(TeacherRole.Generate));
        Assert.Equal(0.9, teacher.Endpoints[0].PricePerMillionOutput);
        Assert.True(teacher.UsesLocalModel);
    }

    [Theory]
    [InlineData("topkingraph", true, false)]
    [InlineData("graph", false, true)]
    [InlineData("cpu", false, false)]
    [InlineData("auto", false, null)]
    public void Teacher_SamplingByName_ReachesTheEngine(string value, bool topKInGraph, bool? backendSampling)
    {
        var engine = SynthPipeline.Pipeline.Teacher.LocalTeacher.ToEngineOptions(Bind(new() { ["Teacher:Sampling"] = value }).Validate());
        Assert.Equal(topKInGraph, engine.TopKInGraph);
        Assert.Equal(backendSampling, engine.BackendSampling);
        Assert.Empty(engine.Problems());
    }

    private static SynthPipeline.Llama.Engine.EngineOptions LocalTeacherEngine(Dictionary<string, string?> values) =>
        SynthPipeline.Pipeline.Teacher.LocalTeacher.ToEngineOptions(Bind(new(values) { ["Teacher:BatchSize"] = "512" }).Validate()).Validate();

    [Fact]
    public void Teacher_PrefixCacheSlots_ReachTheEngineAndAreCountedAgainstLlamaCppsSequenceLimit()
    {
        var engine = SynthPipeline.Pipeline.Teacher.LocalTeacher.ToEngineOptions(Bind(new() { ["Teacher:PrefixCacheSlots"] = "6", ["Teacher:ParallelSequences"] = "2" }).Validate());
        Assert.Equal((2, 6, 8), (engine.ParallelSequences, engine.PrefixCacheSlots, engine.SlotCount));
        // Unset: 4, within llama.cpp's 256 sequences, so 256 parallel sequences still validate.
        Assert.Equal(4, LocalTeacherEngine(new()).PrefixCacheSlots);
        Assert.Equal(2, LocalTeacherEngine(new() { ["Teacher:ParallelSequences"] = "254" }).PrefixCacheSlots);
        Assert.Equal(0, LocalTeacherEngine(new() { ["Teacher:ParallelSequences"] = "256" }).PrefixCacheSlots);

        var e = Assert.Throws<OptionsValidationError>(() => Bind(new() { ["Teacher:PrefixCacheSlots"] = "8", ["Teacher:ParallelSequences"] = "250", ["Teacher:BatchSize"] = "512" }).Validate());
        Assert.Contains("Teacher:PrefixCacheSlots: 8 with Teacher:ParallelSequences (250) makes more than llama.cpp's 256 sequences", e.Message, StringComparison.Ordinal);
        Assert.Contains("Teacher:PrefixCacheSlots=-1: must be 0 (none) or more", string.Join("\n", new SynthPipeline.Llama.Engine.EngineOptions { PrefixCacheSlots = -1 }.Problems()), StringComparison.Ordinal);
    }

    [Fact]
    public void Teacher_RoleNamingAMissingEndpoint_IsAnErrorNamingTheKeyAndTheEndpoints()
    {
        var teacher = Bind(new()
        {
            ["Teacher:Endpoints:0:Name"] = "big", ["Teacher:Endpoints:0:Url"] = "http://gpu-1:8000/v1", ["Teacher:Endpoints:0:Model"] = "m",
            ["Teacher:Roles:Judge"] = "tiny",
        });

        var e = Assert.Throws<OptionsValidationError>(() => teacher.Validate());

        Assert.Contains("Teacher:Roles:Judge: 'tiny' is no endpoint; the endpoints are big, or 'local'", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Teacher:TopCandidates", "maybe")]
    [InlineData("Teacher:OverlapText", "sometimes")]
    [InlineData("Teacher:ParallelSequences", "many")]
    public void Teacher_ValueOfTheWrongType_IsAnErrorNamingTheKeyAndTheValue(string key, string value)
    {
        var e = Assert.Throws<OptionsValidationError>(() => Bind(new() { [key] = value }));

        Assert.Contains($"{key}: {value} is not a valid value", e.Message, StringComparison.Ordinal);
    }
}

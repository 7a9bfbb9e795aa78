using SynthPipeline.Pipeline.SelfInstruct;

namespace SynthPipeline.Pipeline.Tests;

public sealed class SeedReaderTests
{
    private static string Write(string name, string content)
    {
        var dir = Path.Combine(Path.GetTempPath(), "synth-seed-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, content);
        return path;
    }

    [Fact]
    public void Read_ShippedSeeds_FortyTasksAQuarterClassificationEachWithAnInstance()
    {
        var tasks = SeedReader.Read(Path.Combine(AppContext.BaseDirectory, "seeds", "self-instruct-seeds.jsonl"));
        Assert.Equal(40, tasks.Count);
        Assert.Equal(10, tasks.Count(t => t.IsClassification));
        Assert.All(tasks, t => Assert.NotEmpty(t.Instances));
        Assert.Equal(40, tasks.Select(t => t.Instruction).Distinct().Count());
    }

    [Fact]
    public void Read_Csv_GroupsRowsOfOneInstructionAndReadsTheFlag()
    {
        var path = Write("seeds.csv", "instruction,input,output,is_classification\n\"Classify, please\",good food,positive,true\n\"Classify, please\",cold food,negative,true\nName a fruit.,,Apple,false\n");
        var tasks = SeedReader.Read(path);
        Assert.Equal(2, tasks.Count);
        Assert.True(tasks[0].IsClassification);
        Assert.Equal([new SeedInstance("good food", "positive"), new SeedInstance("cold food", "negative")], tasks[0].Instances);
        Assert.Equal($"{path}:4", tasks[1].Source);
    }

    [Fact]
    public void Read_PlainText_OneInstructionPerLineSkippingBlanksAndComments()
    {
        var tasks = SeedReader.Read(Write("seeds.txt", "# my seeds\nGive three tips for sleeping well.\n\nExplain what a prime number is.\n"));
        Assert.Equal(["Give three tips for sleeping well.", "Explain what a prime number is."], tasks.Select(t => t.Instruction));
    }

    [Theory]
    [InlineData("seeds.jsonl", "{\"instruction\":\"ok task here\"}\n{\"instruction\": 5}\n", 2, "\"instruction\" must be a string")]
    [InlineData("seeds.jsonl", "{\"instruction\":\"ok task here\"}\n\n{\"name\":\"x\"}\n", 3, "missing \"instruction\"")]
    [InlineData("seeds.jsonl", "{\"instruction\":\"ok\",\"is_classification\":\"yes\"}\n", 1, "\"is_classification\" must be true or false")]
    [InlineData("seeds.csv", "instruction,input,output,is_classification\nA task,,out,maybe\n", 2, "is_classification 'maybe'")]
    [InlineData("seeds.csv", "input,output\nx,y\n", 1, "no \"instruction\" column")]
    [InlineData("seeds.json", "[\n  {\"instruction\": \"A fine task here.\", \"output\": \"x\"},\n  {\"input\": \"no instruction\"}\n]", 3, "missing \"instruction\"")]
    [InlineData("seeds.json", "[\n  {\"instruction\": \"A fine task here.\"},\n  {\"instruction\": \"Broken\" \"output\": 1}\n]", 3, "not a valid JSON array")]
    public void Read_Defect_NamesFileLineAndDefect(string name, string content, int line, string defect)
    {
        var path = Write(name, content);
        var e = Assert.Throws<SeedFormatException>(() => SeedReader.Read(path));
        Assert.Equal(line, e.Line);
        Assert.StartsWith($"{path}:{line}: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(defect, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_RepeatedInstructions_WarnNamingTheLinesAndKeepTheFirst()
    {
        var warnings = new List<string>();
        var path = Write("seeds.txt", "Same task twice.\nAnother task here.\nSame task twice.\n");

        var tasks = SeedReader.Read(path, warnings.Add);

        Assert.Equal(["Same task twice.", "Another task here."], tasks.Select(t => t.Instruction));
        Assert.Contains("\"Same task twice.\" at lines 1, 3", Assert.Single(warnings), StringComparison.Ordinal);
    }

    [Fact]
    public void Read_AlpacaJsonArray_ItemsOfOneInstructionBecomeItsInstances()
    {
        var path = Write("alpaca_data.json", """
            [
              {"instruction": "Give three tips for staying healthy.", "input": "", "output": "1. Eat well. 2. Move. 3. Sleep."},
              {"instruction": "Translate to French.", "input": "cat", "output": "chat"},
              {"instruction": "Translate to French.", "input": "dog", "output": "chien"}
            ]
            """);

        var tasks = SeedReader.Read(path);

        Assert.Equal(["Give three tips for staying healthy.", "Translate to French."], tasks.Select(t => t.Instruction));
        Assert.Equal([new SeedInstance("cat", "chat"), new SeedInstance("dog", "chien")], tasks[1].Instances);
        Assert.Equal($"{path}:3", tasks[1].Source);
    }

    [Fact]
    public void Read_UserOrientedInstructionsShape_ReadsAsItIsWithRepeatsWarned()
    {
        // Self-Instruct's user_oriented_instructions.jsonl: extra fields, and some instructions repeated for other apps.
        var path = Write("user_oriented_instructions.jsonl",
            "{\"id\": \"user_oriented_task_0\", \"motivation_app\": \"Grammarly\", \"instruction\": \"Fix the grammar.\", \"instances\": [{\"input\": \"he go\", \"output\": \"He goes.\"}]}\n" +
            "{\"id\": \"user_oriented_task_1\", \"motivation_app\": \"Notion\", \"instruction\": \"Fix the grammar.\", \"instances\": [{\"input\": \"we was\", \"output\": \"We were.\"}]}\n" +
            "{\"id\": \"user_oriented_task_2\", \"motivation_app\": \"Notion\", \"instruction\": \"Write a to-do list for a move.\", \"instances\": [{\"input\": \"\", \"output\": \"Pack.\"}]}\n");
        var warnings = new List<string>();

        var tasks = SeedReader.Read(path, warnings.Add);

        Assert.Equal(2, tasks.Count);
        Assert.Single(warnings);
    }

    [Fact]
    public void Read_EmptyFile_IsAnError()
    {
        var e = Assert.Throws<SeedFormatException>(() => SeedReader.Read(Write("seeds.jsonl", "\n\n")));
        Assert.Contains("holds no seed tasks", e.Message, StringComparison.Ordinal);
    }
}

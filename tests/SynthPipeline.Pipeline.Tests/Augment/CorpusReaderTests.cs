using SynthPipeline.Pipeline.Augment;

namespace SynthPipeline.Pipeline.Tests.Augment;

public sealed class CorpusReaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("synth-corpus-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Read_CorpusWithEveryProblem_EachProblemFileGetsItsReasonAndAMessageNamingItAndGoodFilesAreRead()
    {
        TestCorpus.Create(_dir, problems: true);
        var reader = new CorpusReader(16L * 1024 * 1024);
        var results = CorpusReader.Files(_dir).ToDictionary(f => f, f => reader.Read(_dir, f));

        foreach (var (file, reason) in TestCorpus.ProblemReasons)
        {
            var (document, problem) = results[file];
            Assert.Null(document);
            Assert.Equal(reason, problem!.Reason);
            Assert.StartsWith($"'{file}': ", problem.Message, StringComparison.Ordinal);
        }
        Assert.Contains("byte offset 3", results["latin1.txt"].Problem!.Message, StringComparison.Ordinal);
        Assert.Contains("Augment:MaxFileMegabytes", results["big.txt"].Problem!.Message, StringComparison.Ordinal);
        Assert.Contains("password", results["encrypted.pdf"].Problem!.Message, StringComparison.Ordinal);

        Assert.Equal(TestCorpus.Tides, results["good.txt"].Document!.Text);
        Assert.Equal("Lighthouse\n\nThe light flashes twice every ten seconds. See the chart.", results["sub/good.md"].Document!.Text);
        Assert.Equal("The harbour has two basins & a pontoon.", results["good.html"].Document!.Text);
        var pdf = results["good.pdf"].Document!;
        Assert.Equal(1, pdf.Pages);
        Assert.Contains("The ferry crosses the bay.", pdf.Text, StringComparison.Ordinal);
        Assert.Contains("It carries cars and bicycles.", pdf.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Files_MissingFolder_NamesTheFolderAndTheSetting()
    {
        var e = Assert.Throws<SynthPipeline.Core.UserErrorException>(() => CorpusReader.Files(Path.Combine(_dir, "nope")));
        Assert.Contains("nope", e.Message, StringComparison.Ordinal);
        Assert.Contains("Augment:Corpus", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_Utf16WithByteOrderMark_IsDecoded()
    {
        File.WriteAllBytes(Path.Combine(_dir, "u16.txt"), [0xFF, 0xFE, .. System.Text.Encoding.Unicode.GetBytes("Tide tables.")]);
        Assert.Equal("Tide tables.", new CorpusReader(1 << 20).Read(_dir, "u16.txt").Document!.Text);
    }
}

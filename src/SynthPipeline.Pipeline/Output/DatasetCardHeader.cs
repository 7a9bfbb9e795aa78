using System.Globalization;
using System.Text;

namespace SynthPipeline.Pipeline.Output;

/// <summary>
/// The YAML front matter Hugging Face reads from a dataset's README.md: a license placeholder, task categories, the
/// size category, and one <c>configs:</c> entry per Parquet file, so <c>load_dataset(folder, "openai_chat")</c> works.
/// </summary>
public static class DatasetCardHeader
{
    public static string Yaml(int rows, IEnumerable<string> parquetFiles, IEnumerable<string> taskCategories)
    {
        ArgumentNullException.ThrowIfNull(parquetFiles);
        ArgumentNullException.ThrowIfNull(taskCategories);
        var s = new StringBuilder("---\n");
        s.Append("license: other # set the license your data may be shared under\n");
        s.Append("language:\n- en\n");
        s.Append("task_categories:\n");
        foreach (var category in taskCategories) s.Append("- ").Append(category).Append('\n');
        s.Append("size_categories:\n- ").Append(SizeCategory(rows)).Append('\n');
        s.Append("configs:\n");
        var first = true;
        foreach (var file in parquetFiles)
        {
            s.Append("- config_name: ").Append(Path.GetFileNameWithoutExtension(file).Replace('-', '_')).Append('\n');
            s.Append("  data_files: ").Append(file).Append('\n');
            if (first) s.Append("  default: true\n");
            first = false;
        }
        return s.Append("---\n\n").ToString();
    }

    /// <summary>Hugging Face's size buckets.</summary>
    public static string SizeCategory(int rows) => rows switch
    {
        < 1_000 => "n<1K",
        < 10_000 => "1K<n<10K",
        < 100_000 => "10K<n<100K",
        < 1_000_000 => "100K<n<1M",
        _ => string.Create(CultureInfo.InvariantCulture, $"1M<n<10M"),
    };
}

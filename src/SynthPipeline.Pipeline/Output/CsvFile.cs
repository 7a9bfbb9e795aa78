using CsvHelper;

namespace SynthPipeline.Pipeline.Output;

/// <summary>Review CSVs: a header and rows of strings (RFC 4180 quoting by CsvHelper), written atomically.</summary>
public static class CsvFile
{
    public static void Write(string path, IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows)
    {
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(rows);
        AtomicFile.Write(path, writer =>
        {
            using var csv = CsvWriter.Create(writer, new CsvWriterOptions(), leaveOpen: true);
            csv.WriteHeader([.. header]);
            foreach (var row in rows) csv.WriteRecord([.. row]);
            csv.Flush();
        });
    }
}

using System.Buffers.Binary;
using System.Text;
using SynthPipeline.Llama.Gguf;

namespace SynthPipeline.Llama.Tests;

/// <summary>Each defect is reported by the managed reader, naming the file and the defect, before native code runs.</summary>
[Collection(DemoModelCollection.Name)]
public sealed class GgufReaderRejectionTests(DemoModelFixture fixture)
{
    private static string Write(byte[] bytes)
    {
        var path = Path.Combine(TestPaths.TempDirectory("bad-gguf"), "bad.gguf");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static byte[] Valid()
    {
        using var ms = new MemoryStream();
        new GgufWriter().Add("general.architecture", GgufValue.Of("llama")).Add("general.name", GgufValue.Of("x"))
            .AddTensor("w", [32, 2], new float[64]).Write(ms);
        return ms.ToArray();
    }

    private static void AssertRejected(byte[] bytes, string defect)
    {
        var path = Write(bytes);
        var e = Assert.Throws<GgufFormatException>(() => GgufReader.Read(path));
        Assert.Contains(defect, e.Message, StringComparison.Ordinal);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        // The model loader validates first, so llama.cpp never sees the file.
        Assert.Throws<GgufFormatException>(() => LlamaModel.Load(path));
    }

    // Offsets within Valid(): magic 0, version 4, tensor count 8, kv count 16, first key length 24.
    private const int FirstKeyLength = 24;

    [Fact]
    public void Read_WrongMagic_Rejected() => AssertRejected(Encoding.ASCII.GetBytes("GGML").Concat(Valid().Skip(4)).ToArray(), "wrong magic");

    [Fact]
    public void Read_TruncatedHeader_Rejected() => AssertRejected(Valid()[..14], "truncated");

    [Fact]
    public void Read_StringLengthPastEnd_Rejected()
    {
        var bytes = Valid();
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(FirstKeyLength), 1UL << 40);
        AssertRejected(bytes, "runs past the end of the file");
    }

    [Fact]
    public void Read_TensorDataPastEnd_Rejected() => AssertRejected(Valid()[..^40], "past the end of the file");

    [Fact]
    public void Read_BadAlignment_Rejected()
    {
        using var ms = new MemoryStream();
        new GgufWriter().Add("general.alignment", GgufValue.Of(48u)).AddTensor("w", [32], new float[32]).Write(ms);
        AssertRejected(ms.ToArray(), "bad alignment");
    }

    [Fact]
    public void Read_MisalignedTensorOffset_Rejected()
    {
        var bytes = Valid();
        var offsetAt = IndexOfTensorInfoEnd(bytes, "w") - 8;
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(offsetAt), 3);
        AssertRejected(bytes, "not a multiple of the alignment");
    }

    [Fact]
    public void Read_UnknownTensorType_Rejected()
    {
        var bytes = Valid();
        var typeAt = IndexOfTensorInfoEnd(bytes, "w") - 12;
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(typeAt), 77);
        AssertRejected(bytes, "unknown tensor type 77");
    }

    [Fact]
    public void Load_TextFile_RejectedAsNotGguf()
    {
        var path = Write(Encoding.UTF8.GetBytes("this is a README, not a model\n"));
        var e = Assert.Throws<GgufFormatException>(() => LlamaModel.Load(path));
        Assert.Contains("wrong magic", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingFile_NamesThePath()
    {
        var path = Path.Combine(TestPaths.TempDirectory("missing"), "nope.gguf");
        var e = Assert.Throws<SynthPipeline.Core.UserErrorException>(() => LlamaModel.Load(path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ValidGgufOfUnknownArchitecture_LlamaCppErrorIsReported()
    {
        var path = Path.Combine(TestPaths.TempDirectory("arch"), "m.gguf");
        new GgufWriter().Add("general.architecture", GgufValue.Of("no-such-arch")).AddTensor("w", [32], new float[32]).WriteTo(path);
        var e = Assert.Throws<LlamaModelException>(() => LlamaModel.Load(path));
        Assert.Contains("no-such-arch", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_DemoModel_LlamaCppSeesTheWrittenMetadata()
    {
        var model = fixture.Model;
        Assert.Equal("llama", model.NativeMetadata["general.architecture"]);
        Assert.Equal(DemoModel.ContextLength, model.TrainingContextLength);
        Assert.Equal(DemoModel.EmbeddingLength, model.EmbeddingLength);
        Assert.Equal(DemoModel.BlockCount, model.LayerCount);
        Assert.Equal(model.Gguf.ParameterCount, model.ParameterCount);
        Assert.Equal(DemoModel.ChatTemplate, model.ChatTemplate);
        Assert.Equal("SPM", model.Vocab.TypeName);
    }

    // The tensor info of `name` ends with: dims, type (u32), offset (u64).
    private static int IndexOfTensorInfoEnd(byte[] bytes, string name)
    {
        var needle = new byte[8 + name.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(needle, (ulong)name.Length);
        Encoding.ASCII.GetBytes(name).CopyTo(needle, 8);
        var at = bytes.AsSpan().IndexOf(needle);
        var nDims = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at + needle.Length));
        return at + needle.Length + 4 + (int)nDims * 8 + 4 + 8;
    }
}

using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SynthPipeline.Llama.Gguf;

namespace SynthPipeline.Llama.Tests;

public sealed class GgufRoundTripTests
{
    private static readonly Gen<GgufValue> Scalar = Gen.OneOf(
        ArbMap.Default.GeneratorFor<byte>().Select(GgufValue.Of),
        ArbMap.Default.GeneratorFor<sbyte>().Select(GgufValue.Of),
        ArbMap.Default.GeneratorFor<ushort>().Select(GgufValue.Of),
        ArbMap.Default.GeneratorFor<short>().Select(GgufValue.Of),
        ArbMap.Default.GeneratorFor<uint>().Select(GgufValue.Of),
        ArbMap.Default.GeneratorFor<int>().Select(GgufValue.Of),
        ArbMap.Default.GeneratorFor<float>().Select(GgufValue.Of),
        ArbMap.Default.GeneratorFor<bool>().Select(GgufValue.Of),
        ArbMap.Default.GeneratorFor<ulong>().Select(GgufValue.Of),
        ArbMap.Default.GeneratorFor<long>().Select(GgufValue.Of),
        ArbMap.Default.GeneratorFor<double>().Select(GgufValue.Of),
        ArbMap.Default.GeneratorFor<NonNull<string>>().Select(s => GgufValue.Of(ValidUtf16(s.Get))));

    // Nested arrays: every item of one array shares a type, as the format requires.
    private static Gen<GgufValue> ValueOfDepth(int depth) => depth == 0
        ? Scalar
        : Gen.OneOf(Scalar, ValueOfDepth(depth - 1).SelectMany(first =>
            Gen.ListOf(SameType(first, depth - 1)).Select(rest => GgufValue.Of(new GgufArray(first.Type, [first, .. rest.Take(6)])))));

    private static Gen<GgufValue> SameType(GgufValue like, int depth) =>
        ValueOfDepth(depth).Where(v => v.Type == like.Type && (v.Type != GgufValueType.Array || v.AsArray().ElementType == like.AsArray().ElementType));

    private static string ValidUtf16(string s) => new(s.Where(c => !char.IsSurrogate(c)).ToArray());

    public static Arbitrary<List<KeyValuePair<string, GgufValue>>> Metadata() =>
        Gen.ListOf(ValueOfDepth(2)).Select(values => values.Take(12).Select((v, i) => new KeyValuePair<string, GgufValue>($"test.key{i}", v)).ToList()).ToArbitrary();

    [Property(Arbitrary = [typeof(GgufRoundTripTests)], MaxTest = 60)]
    public void WriteThenRead_AnyMetadata_ReturnsEqualValuesInOrder(List<KeyValuePair<string, GgufValue>> metadata)
    {
        var path = Path.Combine(TestPaths.TempDirectory("gguf-prop"), "m.gguf");
        var writer = new GgufWriter();
        foreach (var (key, value) in metadata) writer.Add(key, value);
        writer.AddTensor("t", [32, 2], Enumerable.Range(0, 64).Select(i => i * 0.5f).ToArray());
        writer.WriteTo(path);

        var file = GgufReader.Read(path);
        Assert.Equal(metadata.Select(kv => kv.Key), file.Metadata.Select(kv => kv.Key));
        Assert.Equal(metadata.Select(kv => kv.Value), file.Metadata.Select(kv => kv.Value));
        Assert.Equal(Enumerable.Range(0, 64).Select(i => i * 0.5f), file.ReadTensorFloats(file.Tensor("t")));
    }

    [Theory]
    [InlineData(GgmlType.F32, 0.0)]
    [InlineData(GgmlType.F16, 1e-3)]
    [InlineData(GgmlType.BF16, 8e-3)]
    [InlineData(GgmlType.Q8_0, 8e-3)]
    public void WriteThenRead_TensorOfEachType_RoundTripsWithinTheTypesPrecision(GgmlType type, double relativeTolerance)
    {
        var rng = new Random(1);
        var values = Enumerable.Range(0, 32 * 5).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
        var path = Path.Combine(TestPaths.TempDirectory("gguf-types"), "m.gguf");
        new GgufWriter().Add("general.alignment", GgufValue.Of(64u)).AddTensor("a", [1], [1f]).AddTensor("w", [32, 5], values, type).WriteTo(path);

        var file = GgufReader.Read(path);
        var tensor = file.Tensor("w");
        Assert.Equal(type, tensor.Type);
        Assert.Equal(0UL, tensor.Offset % 64);
        var back = file.ReadTensorFloats(tensor);
        // Q8_0 error is bounded by half a quantisation step of its block (amax/127/2); others by their mantissa.
        for (var i = 0; i < values.Length; i++) Assert.True(Math.Abs(values[i] - back[i]) <= relativeTolerance * 2 + 1e-7, $"{type} [{i}] {values[i]} -> {back[i]}");
    }

    [Fact]
    public void DemoModel_SameSeed_WritesIdenticalBytes()
    {
        var dir = TestPaths.TempDirectory("demo-bytes");
        var a = File.ReadAllBytes(DemoModel.Write(Path.Combine(dir, "a.gguf")));
        var b = File.ReadAllBytes(DemoModel.Write(Path.Combine(dir, "b.gguf")));
        Assert.Equal(a, b);
        Assert.InRange(a.Length, 10_000, 4 << 20);
    }

    [Fact]
    public void EncodeF16_MoreValuesThanOneChunk_EachValueIsItsHalfAtItsOwnPlace()
    {
        // The encoder converts in parallel chunks of 2^20 values; a value misplaced at a chunk's edge would show here.
        var values = Enumerable.Range(0, (1 << 21) + 1001).Select(i => (float)Math.Sin(i * 0.001) * (1 + i % 7)).ToArray();
        var bytes = TensorCodec.Encode(GgmlType.F16, values);
        Assert.Equal(values.Length * 2, bytes.Length);
        var decoded = TensorCodec.Decode(GgmlType.F16, bytes, values.Length);
        for (var i = 0; i < values.Length; i++)
            if (decoded[i] != (float)(Half)values[i]) Assert.Fail($"value {i}: {decoded[i]} against {(float)(Half)values[i]}");
    }
}

using System.Globalization;

namespace SynthPipeline.Llama.Gguf;

/// <summary>GGUF metadata value types (gguf.h).</summary>
public enum GgufValueType : uint
{
    UInt8 = 0, Int8 = 1, UInt16 = 2, Int16 = 3, UInt32 = 4, Int32 = 5, Float32 = 6, Bool = 7,
    String = 8, Array = 9, UInt64 = 10, Int64 = 11, Float64 = 12,
}

/// <summary>
/// A typed GGUF metadata value. <see cref="Value"/> holds the CLR value of <see cref="Type"/> (byte, sbyte, ushort,
/// short, uint, int, float, bool, string, ulong, long, double) or a <see cref="GgufArray"/>. Equality is structural,
/// and floats compare by bits so NaN round-trips equal.
/// </summary>
public sealed class GgufValue : IEquatable<GgufValue>
{
    private GgufValue(GgufValueType type, object value)
    {
        Type = type;
        Value = value;
    }

    public GgufValueType Type { get; }

    public object Value { get; }

    public static GgufValue Of(byte v) => new(GgufValueType.UInt8, v);
    public static GgufValue Of(sbyte v) => new(GgufValueType.Int8, v);
    public static GgufValue Of(ushort v) => new(GgufValueType.UInt16, v);
    public static GgufValue Of(short v) => new(GgufValueType.Int16, v);
    public static GgufValue Of(uint v) => new(GgufValueType.UInt32, v);
    public static GgufValue Of(int v) => new(GgufValueType.Int32, v);
    public static GgufValue Of(float v) => new(GgufValueType.Float32, v);
    public static GgufValue Of(bool v) => new(GgufValueType.Bool, v);
    public static GgufValue Of(string v) => new(GgufValueType.String, v ?? throw new ArgumentNullException(nameof(v)));
    public static GgufValue Of(ulong v) => new(GgufValueType.UInt64, v);
    public static GgufValue Of(long v) => new(GgufValueType.Int64, v);
    public static GgufValue Of(double v) => new(GgufValueType.Float64, v);
    public static GgufValue Of(GgufArray v) => new(GgufValueType.Array, v ?? throw new ArgumentNullException(nameof(v)));

    public static GgufValue Strings(IEnumerable<string> items) => Of(new GgufArray(GgufValueType.String, items.Select(Of).ToList()));
    public static GgufValue Floats(IEnumerable<float> items) => Of(new GgufArray(GgufValueType.Float32, items.Select(Of).ToList()));
    public static GgufValue Ints(IEnumerable<int> items) => Of(new GgufArray(GgufValueType.Int32, items.Select(Of).ToList()));

    public GgufArray AsArray() => (GgufArray)Value;

    public string AsString() => (string)Value;

    /// <summary>Any integer type widened to long (metadata writers are inconsistent about u32 vs i32).</summary>
    public long AsInt64() => Value switch
    {
        byte b => b, sbyte sb => sb, ushort us => us, short s => s, uint u => u, int i => i, ulong ul => checked((long)ul), long l => l,
        _ => throw new InvalidCastException($"GGUF value of type {Type} is not an integer"),
    };

    public double AsDouble() => Value switch
    {
        float f => f, double d => d, _ => AsInt64(),
    };

    public bool Equals(GgufValue? other) => other is not null && Type == other.Type && Value switch
    {
        float f => BitConverter.SingleToInt32Bits(f) == BitConverter.SingleToInt32Bits((float)other.Value),
        double d => BitConverter.DoubleToInt64Bits(d) == BitConverter.DoubleToInt64Bits((double)other.Value),
        _ => Value.Equals(other.Value),
    };

    public override bool Equals(object? obj) => Equals(obj as GgufValue);

    public override int GetHashCode() => HashCode.Combine(Type, Value is GgufArray a ? a.Items.Count : Value.GetHashCode());

    public override string ToString() => Value switch
    {
        GgufArray a => a.ToString(),
        string s => s,
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => Value.ToString() ?? string.Empty,
    };
}

/// <summary>A GGUF array: every item has <see cref="ElementType"/>; arrays may nest.</summary>
public sealed class GgufArray : IEquatable<GgufArray>
{
    public GgufArray(GgufValueType elementType, IReadOnlyList<GgufValue> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (items.Any(i => i.Type != elementType))
            throw new ArgumentException($"every item of a GGUF array of {elementType} must have that type", nameof(items));
        ElementType = elementType;
        Items = items;
    }

    public GgufValueType ElementType { get; }

    public IReadOnlyList<GgufValue> Items { get; }

    public bool Equals(GgufArray? other) => other is not null && ElementType == other.ElementType && Items.SequenceEqual(other.Items);

    public override bool Equals(object? obj) => Equals(obj as GgufArray);

    public override int GetHashCode() => HashCode.Combine(ElementType, Items.Count);

    public override string ToString() =>
        Items.Count <= 8 ? $"[{string.Join(", ", Items)}]" : $"[{string.Join(", ", Items.Take(6))}, … {Items.Count} {ElementType} items]";
}

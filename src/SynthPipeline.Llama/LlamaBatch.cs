using System.Runtime.InteropServices;
using LLama.Native;

namespace SynthPipeline.Llama;

/// <summary>
/// A reusable llama_batch whose arrays live in one native block owned by this object (freed on dispose, or by the
/// finalizer of its SafeHandle). Unlike LLamaSharp's batch, any range of it can be decoded, which the engine's
/// bisection of a rejected batch needs. Each token may belong to up to <c>maxSequencesPerToken</c> sequences.
/// </summary>
public sealed unsafe class LlamaBatch : IDisposable
{
    private readonly NativeBlock _block;
    private readonly int* _token;
    private readonly int* _pos;
    private readonly int* _nSeqId;
    private readonly int** _seqId;
    private readonly sbyte* _logits;
    private readonly int _maxSeq;

    public LlamaBatch(int capacity, int maxSequencesPerToken = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSequencesPerToken, 1);
        Capacity = capacity;
        _maxSeq = maxSequencesPerToken;
        var ints = (nuint)capacity * sizeof(int);
        var bytes = ints * 3 + (nuint)capacity * (nuint)sizeof(int*) + (nuint)capacity * (nuint)maxSequencesPerToken * sizeof(int) + (nuint)capacity;
        _block = new NativeBlock(bytes);
        var p = (byte*)_block.DangerousGetHandle();
        _seqId = (int**)p; p += (nuint)capacity * (nuint)sizeof(int*);
        _token = (int*)p; p += ints;
        _pos = (int*)p; p += ints;
        _nSeqId = (int*)p; p += ints;
        var seqStorage = (int*)p; p += (nuint)capacity * (nuint)maxSequencesPerToken * sizeof(int);
        _logits = (sbyte*)p;
        for (var i = 0; i < capacity; i++) _seqId[i] = seqStorage + i * maxSequencesPerToken;
    }

    public int Capacity { get; }

    public int Count { get; private set; }

    public void Clear() => Count = 0;

    /// <summary>Adds a token at <paramref name="position"/> of sequence <paramref name="sequence"/>.</summary>
    public void Add(int token, int position, int sequence, bool wantLogits)
    {
        ReadOnlySpan<int> one = [sequence];
        Add(token, position, one, wantLogits);
    }

    public void Add(int token, int position, ReadOnlySpan<int> sequences, bool wantLogits)
    {
        if (Count >= Capacity) throw new InvalidOperationException($"batch is full ({Capacity} tokens)");
        if (sequences.Length is 0 || sequences.Length > _maxSeq) throw new ArgumentOutOfRangeException(nameof(sequences));
        _token[Count] = token;
        _pos[Count] = position;
        _nSeqId[Count] = sequences.Length;
        for (var s = 0; s < sequences.Length; s++) _seqId[Count][s] = sequences[s];
        _logits[Count] = wantLogits ? (sbyte)1 : (sbyte)0;
        Count++;
    }

    /// <summary>Tokens [start, start+count) as LLamaSharp's llama_batch struct, pointing into this batch's memory.</summary>
    internal LLamaNativeBatch ToNative(int start, int count) => new()
    {
        n_tokens = count,
        tokens = (LLamaToken*)(_token + start),
        pos = (LLamaPos*)(_pos + start),
        n_seq_id = _nSeqId + start,
        seq_id = (LLamaSeqId**)(_seqId + start),
        logits = (byte*)(_logits + start),
    };

    public void Dispose() => _block.Dispose();

    private sealed class NativeBlock : SafeHandle
    {
        public NativeBlock(nuint bytes) : base(IntPtr.Zero, true) => SetHandle((nint)NativeMemory.AllocZeroed(bytes));

        public override bool IsInvalid => handle == IntPtr.Zero;

        protected override bool ReleaseHandle()
        {
            NativeMemory.Free((void*)handle);
            return true;
        }
    }
}

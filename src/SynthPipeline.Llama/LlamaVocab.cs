using System.Text;
using SynthPipeline.Llama.Native;

namespace SynthPipeline.Llama;

/// <summary>A model's tokenizer. Valid while its <see cref="LlamaModel"/> is alive.</summary>
public sealed unsafe class LlamaVocab
{
    private readonly LlamaModel _model;
    private readonly nint _vocab;

    // Called while the model is being constructed, so no lease is needed; these values never change afterwards.
    internal LlamaVocab(LlamaModel model, nint vocab)
    {
        _model = model;
        _vocab = vocab;
        TokenCount = NativeMethods.LlamaVocabNTokens(vocab);
        Type = NativeMethods.LlamaVocabType(vocab);
        Bos = NativeMethods.LlamaVocabBos(vocab);
        Eos = NativeMethods.LlamaVocabEos(vocab);
        AddsBos = NativeMethods.LlamaVocabGetAddBos(vocab);
    }

    internal nint Native => _vocab;

    public int TokenCount { get; }

    /// <summary>1 = SentencePiece, 2 = BPE, 3 = WordPiece, 4 = Unigram (llama_vocab_type).</summary>
    public int Type { get; }

    public string TypeName => Type switch { 0 => "none", 1 => "SPM", 2 => "BPE", 3 => "WPM", 4 => "UGM", 5 => "RWKV", 6 => "PLaMo-2", _ => "test" };

    public int Bos { get; }

    public int Eos { get; }

    public bool AddsBos { get; }

    public bool IsEndOfGeneration(int token)
    {
        using var _ = Lease();
        return NativeMethods.LlamaVocabIsEog(_vocab, token);
    }

    public bool IsControl(int token)
    {
        using var _ = Lease();
        return NativeMethods.LlamaVocabIsControl(_vocab, token);
    }

    public string TokenText(int token)
    {
        using var _ = Lease();
        return NativeMethods.Utf8(NativeMethods.LlamaVocabGetText(_vocab, token)) ?? string.Empty;
    }

    /// <summary>Tokenizes UTF-8 text. <paramref name="parseSpecial"/> turns control-token text such as &lt;|im_start|&gt; into those tokens.</summary>
    public int[] Tokenize(string text, bool addSpecial = false, bool parseSpecial = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var bytes = Encoding.UTF8.GetBytes(text);
        var tokens = new int[bytes.Length + 8];
        using var _ = Lease();
        while (true)
        {
            int n;
            fixed (byte* b = bytes)
            fixed (int* t = tokens)
                n = NativeMethods.LlamaTokenize(_vocab, b, bytes.Length, t, tokens.Length, addSpecial, parseSpecial);
            if (n >= 0) return tokens[..n];
            if (n == int.MinValue) throw new InvalidOperationException("tokenization overflowed int32");
            tokens = new int[-n];
        }
    }

    /// <summary>
    /// Writes the raw UTF-8 bytes of one token (possibly part of a multi-byte character) into
    /// <paramref name="buffer"/> and returns their count, or the negative size needed if the buffer is too small.
    /// </summary>
    public int TokenBytes(int token, Span<byte> buffer, bool special = false)
    {
        using var _ = Lease();
        fixed (byte* b = buffer) return NativeMethods.LlamaTokenToPiece(_vocab, token, b, buffer.Length, 0, special);
    }

    /// <summary>The raw UTF-8 bytes of one token.</summary>
    public byte[] TokenBytes(int token, bool special = false)
    {
        Span<byte> small = stackalloc byte[64];
        var n = TokenBytes(token, small, special);
        if (n >= 0) return small[..n].ToArray();
        var big = new byte[-n];
        n = TokenBytes(token, big, special);
        return big[..n];
    }

    /// <summary>Turns tokens back into text.</summary>
    public string Detokenize(ReadOnlySpan<int> tokens, bool removeSpecial = false, bool unparseSpecial = false)
    {
        var buf = new byte[Math.Max(16, tokens.Length * 8)];
        using var _ = Lease();
        while (true)
        {
            int n;
            fixed (int* t = tokens)
            fixed (byte* b = buf)
                n = NativeMethods.LlamaDetokenize(_vocab, t, tokens.Length, b, buf.Length, removeSpecial, unparseSpecial);
            if (n >= 0) return Encoding.UTF8.GetString(buf, 0, n);
            buf = new byte[-n];
        }
    }

    // The vocabulary belongs to the model: hold a reference on the model's handle for the duration of each call.
    private ModelLease Lease() => new(_model.Handle);

    private readonly ref struct ModelLease
    {
        private readonly System.Runtime.InteropServices.SafeHandle _handle;

        public ModelLease(System.Runtime.InteropServices.SafeHandle handle)
        {
            var added = false;
            handle.DangerousAddRef(ref added);
            _handle = handle;
        }

        public void Dispose() => _handle.DangerousRelease();
    }
}

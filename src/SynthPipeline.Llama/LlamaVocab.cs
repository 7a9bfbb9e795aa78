using System.Text;
using SynthPipeline.Llama.Native;

namespace SynthPipeline.Llama;

/// <summary>A model's tokenizer. Valid while its <see cref="LlamaModel"/> is alive.</summary>
public sealed unsafe class LlamaVocab
{
    private readonly LlamaModel _model;
    private readonly nint _vocab;

    internal LlamaVocab(LlamaModel model, nint vocab)
    {
        _model = model;
        _vocab = vocab;
    }

    internal nint Native => _vocab;

    public int TokenCount => Call(v => NativeMethods.LlamaVocabNTokens(v));

    /// <summary>1 = SentencePiece, 2 = BPE, 3 = WordPiece, 4 = Unigram (llama_vocab_type).</summary>
    public int Type => Call(v => NativeMethods.LlamaVocabType(v));

    public string TypeName => Type switch { 0 => "none", 1 => "SPM", 2 => "BPE", 3 => "WPM", 4 => "UGM", 5 => "RWKV", 6 => "PLaMo-2", _ => "test" };

    public int Bos => Call(v => NativeMethods.LlamaVocabBos(v));

    public int Eos => Call(v => NativeMethods.LlamaVocabEos(v));

    public bool AddsBos => Call(v => NativeMethods.LlamaVocabGetAddBos(v));

    public bool IsEndOfGeneration(int token) => Call(v => NativeMethods.LlamaVocabIsEog(v, token));

    public bool IsControl(int token) => Call(v => NativeMethods.LlamaVocabIsControl(v, token));

    public string TokenText(int token) => Call(v => NativeMethods.Utf8(NativeMethods.LlamaVocabGetText(v, token)) ?? string.Empty);

    /// <summary>Tokenizes UTF-8 text. <paramref name="parseSpecial"/> turns control-token text such as &lt;|im_start|&gt; into those tokens.</summary>
    public int[] Tokenize(string text, bool addSpecial = false, bool parseSpecial = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var bytes = Encoding.UTF8.GetBytes(text);
        var tokens = new int[bytes.Length + 8];
        return Call(v =>
        {
            while (true)
            {
                int n;
                fixed (byte* b = bytes)
                fixed (int* t = tokens)
                    n = NativeMethods.LlamaTokenize(v, b, bytes.Length, t, tokens.Length, addSpecial, parseSpecial);
                if (n >= 0) return tokens[..n];
                if (n == int.MinValue) throw new InvalidOperationException("tokenization overflowed int32");
                tokens = new int[-n];
            }
        });
    }

    /// <summary>The raw UTF-8 bytes of one token (may be part of a multi-byte character).</summary>
    public byte[] TokenBytes(int token, bool special = false) => Call(v =>
    {
        Span<byte> small = stackalloc byte[64];
        int n;
        fixed (byte* b = small) n = NativeMethods.LlamaTokenToPiece(v, token, b, small.Length, 0, special);
        if (n >= 0) return small[..n].ToArray();
        var big = new byte[-n];
        fixed (byte* b = big) n = NativeMethods.LlamaTokenToPiece(v, token, b, big.Length, 0, special);
        return big[..n];
    });

    /// <summary>Turns tokens back into text.</summary>
    public string Detokenize(ReadOnlySpan<int> tokens, bool removeSpecial = false, bool unparseSpecial = false)
    {
        var arr = tokens.ToArray();
        return Call(v =>
        {
            var buf = new byte[Math.Max(16, arr.Length * 8)];
            while (true)
            {
                int n;
                fixed (int* t = arr)
                fixed (byte* b = buf)
                    n = NativeMethods.LlamaDetokenize(v, t, arr.Length, b, buf.Length, removeSpecial, unparseSpecial);
                if (n >= 0) return Encoding.UTF8.GetString(buf, 0, n);
                buf = new byte[-n];
            }
        });
    }

    // The vocabulary belongs to the model: hold a reference on the model's handle for the duration of each call.
    private T Call<T>(Func<nint, T> action)
    {
        var added = false;
        _model.Handle.DangerousAddRef(ref added);
        try
        {
            return action(_vocab);
        }
        finally
        {
            if (added) _model.Handle.DangerousRelease();
        }
    }
}

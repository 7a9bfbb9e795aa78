using System.Runtime.InteropServices;
using System.Text;
using LLama.Native;
using SynthPipeline.Llama.Native;

namespace SynthPipeline.Llama;

/// <summary>A model's tokenizer, over LLamaSharp's vocabulary. Valid while its <see cref="LlamaModel"/> is alive.</summary>
public sealed unsafe class LlamaVocab
{
    private readonly LlamaModel _model;
    private readonly nint _vocab;
    private readonly SafeLlamaModelHandle.Vocabulary _native;

    // Called while the model is being constructed; these values never change afterwards.
    internal LlamaVocab(LlamaModel model, nint vocab)
    {
        _model = model;
        _vocab = vocab;
        _native = model.Handle.Vocab;
        TokenCount = _native.Count;
        Type = (int)_native.Type;
        Bos = _native.BOS is { } bos ? (int)bos : -1;
        Eos = _native.EOS is { } eos ? (int)eos : -1;
        AddsBos = _native.ShouldAddBOS;
    }

    public int TokenCount { get; }

    /// <summary>1 = SentencePiece, 2 = BPE, 3 = WordPiece, 4 = Unigram (llama_vocab_type).</summary>
    public int Type { get; }

    public string TypeName => Type switch { 0 => "none", 1 => "SPM", 2 => "BPE", 3 => "WPM", 4 => "UGM", 5 => "RWKV", 6 => "PLaMo-2", _ => "test" };

    public int Bos { get; }

    public int Eos { get; }

    public bool AddsBos { get; }

    internal SafeLlamaModelHandle.Vocabulary Native => _native;

    /// <summary>The native llama_vocab, for the calls LLamaSharp does not expose.</summary>
    internal nint Pointer => _vocab;

    public bool IsEndOfGeneration(int token) => ((LLamaToken)token).IsEndOfGeneration(_native);

    public bool IsControl(int token) => ((LLamaToken)token).IsControl(_native);

    /// <summary>Tokenizes UTF-8 text. <paramref name="parseSpecial"/> turns control-token text such as &lt;|im_start|&gt; into those tokens.</summary>
    public int[] Tokenize(string text, bool addSpecial = false, bool parseSpecial = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokens = _model.Handle.Tokenize(text, addSpecial, parseSpecial, Encoding.UTF8);
        return MemoryMarshal.Cast<LLamaToken, int>(tokens).ToArray();
    }

    /// <summary>
    /// Writes the raw UTF-8 bytes of one token (possibly part of a multi-byte character) into
    /// <paramref name="buffer"/> and returns their count, or the negative size needed if the buffer is too small.
    /// </summary>
    public int TokenBytes(int token, Span<byte> buffer, bool special = false) => NativeApi.llama_token_to_piece(_native, token, buffer, 0, special);

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

    /// <summary>Turns tokens back into text (LLamaSharp does not expose llama_detokenize, so it is bound here).</summary>
    public string Detokenize(ReadOnlySpan<int> tokens, bool removeSpecial = false, bool unparseSpecial = false)
    {
        var buf = new byte[Math.Max(16, tokens.Length * 8)];
        var added = false;
        _model.Handle.DangerousAddRef(ref added);
        try
        {
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
        finally
        {
            _model.Handle.DangerousRelease();
        }
    }
}

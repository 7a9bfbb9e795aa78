using System.Text;

namespace SynthPipeline.Llama.Engine;

/// <summary>
/// Turns a stream of token ids into text. A token may end in the middle of a UTF-8 character; the incomplete bytes
/// wait for the next token instead of becoming replacement characters.
/// </summary>
internal sealed class TokenTextDecoder(LlamaVocab vocab)
{
    private readonly Decoder _decoder = new UTF8Encoding(false).GetDecoder();
    private char[] _chars = new char[64];
    private byte[] _piece = new byte[256];

    /// <summary>The text that <paramref name="token"/> completes (possibly empty).</summary>
    public string Append(int token)
    {
        var length = vocab.TokenBytes(token, _piece);
        if (length < 0)
        {
            _piece = new byte[-length];
            length = vocab.TokenBytes(token, _piece);
        }
        var bytes = _piece.AsSpan(0, length);
        var count = _decoder.GetCharCount(bytes, flush: false);
        if (count > _chars.Length) _chars = new char[count * 2];
        var written = _decoder.GetChars(bytes, _chars, flush: false);
        return written == 0 ? string.Empty : new string(_chars, 0, written);
    }
}

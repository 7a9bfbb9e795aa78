using System.Runtime.InteropServices;
using System.Text;
using LLama.Native;
using SynthPipeline.Llama.Native;

namespace SynthPipeline.Llama;

/// <summary>One chat message for a template.</summary>
public readonly record struct TemplateMessage(string Role, string Content);

/// <summary>Formats a conversation with a model's chat template through LLamaSharp's llama_chat_apply_template.</summary>
public static unsafe class ChatTemplate
{
    /// <summary>ChatML, used when a model ships no template.</summary>
    public const string ChatMl = "chatml";

    /// <exception cref="LlamaModelException">llama.cpp does not recognise the template.</exception>
    public static string Apply(string? template, IReadOnlyList<TemplateMessage> messages, bool addAssistantPrompt)
    {
        ArgumentNullException.ThrowIfNull(messages);
        LlamaLibrary.EnsureInitialized();
        var handles = new List<GCHandle>();
        try
        {
            byte[] Pin(string s)
            {
                var bytes = Encoding.UTF8.GetBytes(s + "\0");
                handles.Add(GCHandle.Alloc(bytes, GCHandleType.Pinned));
                return bytes;
            }
            var native = new LLamaChatMessage[messages.Count];
            var total = 0;
            for (var i = 0; i < messages.Count; i++)
            {
                Pin(messages[i].Role);
                Pin(messages[i].Content);
                native[i] = new LLamaChatMessage
                {
                    role = (byte*)handles[^2].AddrOfPinnedObject(),
                    content = (byte*)handles[^1].AddrOfPinnedObject(),
                };
                total += messages[i].Content.Length + messages[i].Role.Length;
            }
            var tmpl = Pin(template ?? ChatMl);
            var buf = new byte[total * 2 + 256];
            fixed (LLamaChatMessage* m = native)
            fixed (byte* t = tmpl)
            {
                while (true)
                {
                    int n;
                    fixed (byte* b = buf) n = NativeApi.llama_chat_apply_template(t, m, (nuint)native.Length, addAssistantPrompt, b, buf.Length);
                    if (n < 0)
                        throw new LlamaModelException("the model's chat template is not one llama.cpp recognises; set Teacher:ChatTemplate to a built-in name such as 'chatml' or 'llama3'");
                    if (n <= buf.Length) return Encoding.UTF8.GetString(buf, 0, n);
                    buf = new byte[n];
                }
            }
        }
        finally
        {
            foreach (var h in handles) h.Free();
        }
    }
}

using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

/// <summary>
/// A loopback OpenAI-compatible teacher that answers at once (or after a hold) with Self-Instruct-shaped text of
/// realistic length, streamed one event per few characters as vLLM and llama-server stream tokens. Run in its own
/// process so the coordinator's CPU is measured alone.
/// </summary>
internal static class InstantTeacher
{
    private static readonly string[] Syllables = ["ka", "lo", "mi", "re", "sun", "tor", "vel", "ba", "ni", "qu", "ost", "len", "dra", "fe", "pim", "ul", "zan", "cor", "he", "wy"];
    private static long _held, _peakHeld;

    public static async Task RunAsync(int holdMs, int chunkChars)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxConcurrentConnections = null);
        var app = builder.Build();
        app.MapGet("/v1/models", () => Results.Json(new { @object = "list", data = new[] { new { id = "instant", @object = "model", created = 0, owned_by = "bench" } } }));
        app.MapGet("/peak", () => Interlocked.Read(ref _peakHeld).ToString(System.Globalization.CultureInfo.InvariantCulture));
        app.MapPost("/v1/chat/completions", async (HttpContext http) =>
        {
            using var body = await JsonDocument.ParseAsync(http.Request.Body);
            var messages = body.RootElement.GetProperty("messages");
            var prompt = messages[messages.GetArrayLength() - 1].GetProperty("content").GetString()!;
            var held = Interlocked.Increment(ref _held);
            long peak;
            while (held > (peak = Interlocked.Read(ref _peakHeld)) && Interlocked.CompareExchange(ref _peakHeld, held, peak) != peak) { }
            try
            {
                if (holdMs > 0) await Task.Delay(holdMs, http.RequestAborted);
            }
            finally
            {
                Interlocked.Decrement(ref _held);
            }
            var text = Answer(prompt);
            http.Response.ContentType = "text/event-stream";
            var sb = new StringBuilder();
            for (var i = 0; i < text.Length; i += chunkChars)
            {
                var piece = JsonSerializer.Serialize(text.Substring(i, Math.Min(chunkChars, text.Length - i)));
                sb.Append("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":0,\"model\":\"instant\",\"choices\":[{\"index\":0,\"delta\":{\"content\":")
                    .Append(piece).Append("},\"finish_reason\":null}]}\n\n");
            }
            sb.Append("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":0,\"model\":\"instant\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n");
            sb.Append("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":0,\"model\":\"instant\",\"choices\":[],\"usage\":{\"prompt_tokens\":")
                .Append(prompt.Length / 4).Append(",\"completion_tokens\":").Append(text.Length / 4).Append(",\"total_tokens\":").Append((prompt.Length + text.Length) / 4).Append("}}\n\n");
            sb.Append("data: [DONE]\n\n");
            await http.Response.WriteAsync(sb.ToString());
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Console.WriteLine("listening " + address + "/v1");
        await Task.Delay(Timeout.Infinite);
    }

    private static string Answer(string prompt)
    {
        var random = new Random(prompt.GetHashCode(StringComparison.Ordinal));
        string Word() => string.Concat(Enumerable.Range(0, 2 + random.Next(2)).Select(_ => Syllables[random.Next(Syllables.Length)]));
        string Sentence(int words) => string.Join(' ', Enumerable.Range(0, words).Select(_ => Word()));
        if (prompt.StartsWith("Come up with a series of tasks:", StringComparison.Ordinal))
        {
            var next = int.Parse(prompt.TrimEnd().Split('\n')[^1].TrimEnd('.'), System.Globalization.CultureInfo.InvariantCulture);
            var s = new StringBuilder(" Explain " + Sentence(14) + ".");
            for (var i = 1; i < 8 && next + i <= 20; i++) s.Append('\n').Append(next + i).Append(". Describe ").Append(Sentence(14)).Append('.');
            return s.ToString();
        }
        if (prompt.StartsWith("Can the following task", StringComparison.Ordinal)) return "No";
        return $"Input: {Sentence(30)}\nOutput: {Sentence(60)}\n\nExample 2\nInput: {Sentence(30)}\nOutput: {Sentence(60)}";
    }
}

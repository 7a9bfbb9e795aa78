using System.Globalization;
using System.Text;
using SynthPipeline.Llama.Engine;

namespace SynthPipeline.Server;

/// <summary><c>GET /metrics</c> in Prometheus' text format: the engine's rates, queue, sequences and KV use, and the server's requests.</summary>
internal static class PrometheusMetrics
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    public static string Render(EngineMetrics engine, ServerCounters server, string model)
    {
        var s = new StringBuilder();
        var label = $"{{model=\"{model.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)}\"}}";
        void Metric(string name, string type, string help, double value)
        {
            s.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
            s.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
            s.Append(name).Append(label).Append(' ').Append(value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
        }
        Metric("synth_generated_tokens_per_second", "gauge", "Tokens sampled per second across all sequences (last few seconds).", engine.GeneratedTokensPerSecond);
        Metric("synth_prompt_tokens_per_second", "gauge", "Prompt tokens computed per second (last few seconds).", engine.PromptTokensPerSecond);
        Metric("synth_queue_depth", "gauge", "Requests waiting for a free sequence.", engine.QueueDepth);
        Metric("synth_active_sequences", "gauge", "Sequences being prompt-processed or generating.", engine.ActiveSequences);
        Metric("synth_kv_use_ratio", "gauge", "Share of KV positions held, 0 to 1.", engine.KvUse);
        Metric("synth_kv_positions_held", "gauge", "KV positions held by all sequences.", engine.KvPositionsHeld);
        Metric("synth_kv_positions_capacity", "gauge", "Sequence slots (parallel and prefix-cache) times context per sequence.", engine.KvPositionsCapacity);
        Metric("synth_generated_tokens_total", "counter", "Tokens sampled.", engine.GeneratedTokens);
        Metric("synth_prompt_tokens_total", "counter", "Prompt tokens computed.", engine.PromptTokensProcessed);
        Metric("synth_prompt_tokens_cached_total", "counter", "Prompt tokens whose KV was reused instead of computed.", engine.PromptTokensReused);
        Metric("synth_engine_requests_completed_total", "counter", "Generations that finished.", engine.Completed);
        Metric("synth_engine_requests_failed_total", "counter", "Generations that failed or were cancelled.", engine.Failed);
        Metric("synth_http_requests_in_flight", "gauge", "Completion requests being served.", server.InFlight);
        Metric("synth_http_requests_ok_total", "counter", "Completion requests answered in full.", server.Ok);
        Metric("synth_http_requests_invalid_total", "counter", "Requests refused with 400 or 401.", server.Invalid);
        Metric("synth_http_requests_disconnected_total", "counter", "Requests whose client left before the answer was complete.", server.Disconnected);
        Metric("synth_http_requests_failed_total", "counter", "Requests that failed on the server.", server.Failed);
        return s.ToString();
    }
}

using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;

// Compares a llama.cpp build's struct layouts (the output of llama_structs_probe.c built against its llama.h) with the
// layouts LLamaSharp 0.30 marshals. A build that matches can be driven by LLamaSharp; any difference is printed.
//   dotnet LlamaSharpAbi.dll PROBE_OUTPUT.txt        exit code 0 = every size and offset matches
if (args.Length != 1 || !File.Exists(args[0]))
{
    Console.Error.WriteLine("usage: LlamaSharpAbi PROBE_OUTPUT.txt (see bench/gpu/llamasharp-abi-check.sh)");
    return 2;
}
var assembly = typeof(LLama.Native.NativeApi).Assembly;
var structs = new Dictionary<string, string>(StringComparer.Ordinal)
{
    ["llama_model_params"] = "LLama.Native.LLamaModelParams",
    ["llama_context_params"] = "LLama.Native.LLamaContextParams",
    ["llama_batch"] = "LLama.Native.LLamaNativeBatch",
    ["llama_chat_message"] = "LLama.Native.LLamaChatMessage",
    ["llama_sampler_chain_params"] = "LLama.Native.LLamaSamplerChainParams",
    ["llama_model_quantize_params"] = "LLama.Native.LLamaModelQuantizeParams",
    ["llama_token_data"] = "LLama.Native.LLamaTokenData",
    ["llama_token_data_array"] = "LLama.Native.LLamaTokenDataArrayNative",
    ["llama_logit_bias"] = "LLama.Native.LLamaLogitBias",
};
// C field names LLamaSharp spells differently (its bools are private fields behind properties).
var spelled = new Dictionary<string, string[]>(StringComparer.Ordinal)
{
    ["ctx_type"] = ["context_type"], ["pooling_type"] = ["llama_pooling_type"], ["flash_attn_type"] = ["llama_flash_attn_type"],
    ["defrag_thold"] = ["defrag_threshold"], ["abort_callback_data"] = ["abort_callback_user_data"], ["token"] = ["tokens", "token"],
    ["QUANT_TENSOR_TYPES"] = ["tensor_types"], ["p"] = ["Probability"], ["id"] = ["ID"], ["logit"] = ["Logit"],
};
var probed = File.ReadAllLines(args[0]).Select(l => l.Split(' ')).Where(p => p.Length == 2)
    .ToDictionary(p => p[0], p => int.Parse(p[1], CultureInfo.InvariantCulture), StringComparer.Ordinal);
var problems = new List<string>();
foreach (var (c, managedName) in structs)
{
    var managed = assembly.GetType(managedName);
    if (managed is null || !probed.TryGetValue(c, out var size))
    {
        problems.Add($"{c}: not probed or not in LLamaSharp");
        continue;
    }
    if (Marshal.SizeOf(managed) != size) problems.Add($"{c}: sizeof {size} in C, {Marshal.SizeOf(managed)} in LLamaSharp");
    var fields = managed.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic);
    foreach (var key in probed.Keys.Where(k => k.StartsWith(c + ".", StringComparison.Ordinal)))
    {
        var name = key[(c.Length + 1)..];
        string[] candidates = [.. spelled.GetValueOrDefault(name, []), name, "_" + name];
        var field = fields.FirstOrDefault(f => candidates.Any(n => string.Equals(f.Name, n, StringComparison.OrdinalIgnoreCase)));
        if (field is null)
        {
            problems.Add($"{key}: no such field in {managed.Name}");
            continue;
        }
        var offset = (int)Marshal.OffsetOf(managed, field.Name);
        if (offset != probed[key]) problems.Add($"{key}: offset {probed[key]} in C, {offset} in {managed.Name}.{field.Name}");
    }
}
foreach (var p in problems) Console.WriteLine(p);
Console.WriteLine(problems.Count == 0 ? $"every probed size and offset matches LLamaSharp {assembly.GetName().Version}" : $"{problems.Count} differences");
return problems.Count == 0 ? 0 : 1;

#!/usr/bin/env bash
# Single-sequence teacher speed: time to first token and decode tokens/s of `synth chat`, against llama.cpp's own
# `llama-bench -n 128` on the same GGUF when a llama-bench binary is given.
#   bench/teacher-single-sequence.sh MODEL.gguf [LLAMA_BENCH_BINARY]
# Env: RUNS (default 5), TOKENS (128), THREADS (all cores), GPU_LAYERS (0 on CPU), CHAT_FLAGS (e.g. --no-stream).
set -euo pipefail
model=$1 llama_bench=${2:-}
runs=${RUNS:-5} tokens=${TOKENS:-128} threads=${THREADS:-$(nproc)} ngl=${GPU_LAYERS:-0}
root=$(cd "$(dirname "$0")/.." && pwd)
synth=${SYNTH:-"$root/src/SynthPipeline.Cli/bin/Release/net10.0/synth"}
[[ -n ${SYNTH:-} || -x $synth ]] || dotnet build "$root/src/SynthPipeline.Cli" -c Release -v q -nologo >/dev/null
export Teacher__Threads=$threads Teacher__GpuLayers=$ngl Teacher__ContextSize=${CONTEXT:-2048}
prompt="Give three tips for staying healthy, with a short explanation of why each one matters."
$synth chat -m "$model" -p "$prompt" -n 16 -t 0 --ignore-eos >/dev/null 2>&1   # warm the page cache
ttft=() rate=()
for ((i = 0; i < runs; i++)); do
  line=$($synth chat -m "$model" -p "$prompt" -n "$tokens" -t 0 --ignore-eos --stats ${CHAT_FLAGS:-} 2>&1 >/dev/null | grep '^prompt_tokens=')
  ttft+=("$(sed -E 's/.*ttft_ms=([0-9.]+).*/\1/' <<<"$line")")
  rate+=("$(sed -E 's/.*decode_tokens_per_s=([0-9.]+).*/\1/' <<<"$line")")
  echo "run $((i + 1)): $line"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
echo "synth: median ttft_ms=$(median "${ttft[@]}") median decode_tokens_per_s=$(median "${rate[@]}") (runs=$runs tokens=$tokens threads=$threads ngl=$ngl)"
if [[ -n $llama_bench ]]; then
  "$llama_bench" -m "$model" -p 0 -n "$tokens" -r "$runs" -t "$threads" -ngl "$ngl" -o md
fi

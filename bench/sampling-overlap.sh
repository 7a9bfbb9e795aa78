#!/usr/bin/env bash
# Issue 17's sampling work on one model: synth bench with CPU sampling as it was (llama.cpp's chain over the whole
# vocabulary, text handled before the next step), with the chain over the top-k candidates, and with the text also
# overlapped with the next decode; against llama-batched-bench (which decodes without sampling), same PP/TG/B.
#   bash bench/sampling-overlap.sh MODEL LLAMA_BIN_DIR
# Environment: NPP (128) NTG (128) NPL (1,4,16) THREADS (all cores) GPU_LAYERS (0) FA (off) REPEAT (2: configurations
#   alternate, best of REPEAT kept, as this VM drifts between minutes) SYNTH (default: the Release build, built first) OUT (/tmp/sampling-overlap)
#   CONFIGS ("whole top top+overlap"; also topk-in-graph: which to run)
# Prints a summary table last; logs and JSON stay in $OUT.
set -euo pipefail
model=${1:?usage: sampling-overlap.sh MODEL LLAMA_BIN_DIR}
bin=${2:?usage: sampling-overlap.sh MODEL LLAMA_BIN_DIR}
npp=${NPP:-128}; ntg=${NTG:-128}; npl=${NPL:-1,4,16}; repeat=${REPEAT:-2}
threads=${THREADS:-$(nproc)}; ngl=${GPU_LAYERS:-0}; fa=${FA:-off}
[[ -n ${SYNTH:-} ]] || dotnet build -c Release "$(cd "$(dirname "$0")/.." && pwd)/src/SynthPipeline.Cli" -v q >/dev/null # throughput needs the optimised build (Debug disables the JIT's optimisations)
synth=${SYNTH:-dotnet src/SynthPipeline.Cli/bin/Release/net10.0/synth.dll}
out=${OUT:-/tmp/sampling-overlap}; mkdir -p "$out"; rm -f "$out"/*.json "$out"/*.jsonl
here=$(cd "$(dirname "$0")" && pwd)
max_b=$(tr ',' '\n' <<<"$npl" | sort -n | tail -1)
export Teacher__Threads=$threads Teacher__GpuLayers=$ngl Teacher__FlashAttention=$fa Teacher__Sampling=cpu \
  Teacher__BatchSize=${BATCH:-2048} Teacher__MicroBatchSize=${UBATCH:-512}
echo "model $model; PP $npp TG $ntg B $npl; threads $threads; gpu layers $ngl; flash attention $fa; CPU samplers top-k 40, top-p 0.95, temperature 0.8"

# topk-in-graph: the top-k cut in the compute graph (only k logits a token leave the device), the rest of the chain on the CPU.
declare -A configs=([whole]="off false cpu" [top]="on false cpu" [top+overlap]="on true cpu" [topk-in-graph]="on true topkingraph")
for r in $(seq 1 "$repeat"); do
  for name in ${CONFIGS:-whole top top+overlap}; do
    read -r top overlap sampling <<<"${configs[$name]}"
    Teacher__TopCandidates=$top Teacher__OverlapText=$overlap \
      $synth bench -m "$model" --npp "$npp" --ntg "$ntg" --npl "$npl" --sampling "$sampling" --json "$out/synth-$name-$r.json" >"$out/synth-$name-$r.log" 2>&1
  done
  "$bin/llama-batched-bench" -m "$model" -c $(( max_b * (npp + ntg + 1) )) -b "${BATCH:-2048}" -ub "${UBATCH:-512}" -npp "$npp" -ntg "$ntg" \
    -npl "$npl" -t "$threads" -ngl "$ngl" -fa "$fa" --output-format jsonl 2>"$out/batched-bench-$r.log" | grep '^{' > "$out/batched-bench-$r.jsonl" || true
done
python3 "$here/tools/summarize_sampling.py" "$out" | tee "$out/summary.md"

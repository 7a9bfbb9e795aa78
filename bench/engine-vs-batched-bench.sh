#!/usr/bin/env bash
# synth bench (the continuous-batching engine, sampling on) against llama-batched-bench (no sampling) and
# llama-server -np N driven by N concurrent clients, on the same model with the same PP/TG, in one run.
#   bash bench/engine-vs-batched-bench.sh MODEL [LLAMA_BIN_DIR]
# Environment: NPP (128) NTG (128) NPL (1,16,64,128,256) THREADS (all cores) GPU_LAYERS (0) FA (off|on)
#   SYNTH (command running synth; default: the Release build, built first) OUT (log folder; default /tmp/engine-bench)
#   SERVER (1 = also run llama-server; default 1 when llama-server is found) SAMPLING (both|graph|cpu)
# Prints a summary table last; full logs stay in $OUT.
set -euo pipefail
model=${1:?usage: engine-vs-batched-bench.sh MODEL [LLAMA_BIN_DIR]}
bin=${2:-}
npp=${NPP:-128}; ntg=${NTG:-128}; npl=${NPL:-1,16,64,128,256}
threads=${THREADS:-$(nproc)}; ngl=${GPU_LAYERS:-0}; fa=${FA:-off}
[[ -n ${SYNTH:-} ]] || dotnet build -c Release "$(cd "$(dirname "$0")/.." && pwd)/src/SynthPipeline.Cli" -v q >/dev/null # throughput needs the optimised build (Debug disables the JIT's optimisations)
synth=${SYNTH:-dotnet src/SynthPipeline.Cli/bin/Release/net10.0/synth.dll}
out=${OUT:-/tmp/engine-bench}; mkdir -p "$out"; rm -f "$out"/*.json "$out"/*.jsonl
here=$(cd "$(dirname "$0")" && pwd)
find_tool() { if [[ -n $bin && -x $bin/$1 ]]; then echo "$bin/$1"; else command -v "$1" || true; fi; }
batched=$(find_tool llama-batched-bench); server=$(find_tool llama-server)
max_b=$(tr ',' '\n' <<<"$npl" | sort -n | tail -1)
ctx=$(( max_b * (npp + ntg + 1) ))
export Teacher__Threads=$threads Teacher__GpuLayers=$ngl Teacher__FlashAttention=$fa Teacher__BatchSize=${BATCH:-2048} Teacher__MicroBatchSize=${UBATCH:-512}
echo "model $model; PP $npp TG $ntg B $npl; threads $threads; gpu layers $ngl; flash attention $fa; n_batch ${BATCH:-2048} n_ubatch ${UBATCH:-512}"

case ${SAMPLING:-both} in both) paths="graph cpu";; *) paths=$SAMPLING;; esac
for path in $paths; do
  $synth bench -m "$model" --npp "$npp" --ntg "$ntg" --npl "$npl" --sampling "$path" --json "$out/synth-$path.json" 2>&1 | tee "$out/synth-$path.log"
done

if [[ -n $batched ]]; then
  "$batched" -m "$model" -c "$ctx" -b "${BATCH:-2048}" -ub "${UBATCH:-512}" -npp "$npp" -ntg "$ntg" -npl "$npl" -t "$threads" -ngl "$ngl" -fa "$fa" \
    --output-format jsonl 2>"$out/batched-bench.log" | grep '^{' > "$out/batched-bench.jsonl" || true
  cat "$out/batched-bench.jsonl"
else
  echo "llama-batched-bench not found: pass LLAMA_BIN_DIR" >&2
fi

if [[ -n $server && ${SERVER:-1} == 1 ]]; then
  vocab=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["n_vocab"])' "$(ls "$out"/synth-*.json | head -1)")
  port=${PORT:-18089}
  for b in ${npl//,/ }; do
    for backend in 0 1; do
      flags=(); [[ $backend == 1 ]] && flags=(--backend-sampling)
      "$server" -m "$model" -np "$b" -c $(( b * (npp + ntg + 8) )) -t "$threads" -ngl "$ngl" -fa "$fa" --port "$port" --host 127.0.0.1 \
        --no-webui "${flags[@]}" >"$out/server-$b-$backend.log" 2>&1 &
      pid=$!
      for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.5; done
      cflags=(); [[ $backend == 1 ]] && cflags=(--backend-sampling)
      python3 "$here/tools/server_clients.py" --port "$port" --clients "$b" --npp "$npp" --ntg "$ntg" --vocab "$vocab" "${cflags[@]}" | tee -a "$out/server.jsonl" || true
      kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
    done
  done
fi
echo
python3 "$here/tools/summarize.py" "$out" | tee "$out/summary.md"

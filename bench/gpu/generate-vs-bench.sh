#!/usr/bin/env bash
# On the GPU machine (see ../shared/device/README.md), after packing with
#   SynthCpuNative=false bash ../shared/device/pack.sh src/SynthPipeline.Cli/SynthPipeline.Cli.csproj
# run:  bash .device/gpu-env.sh bash bench/gpu/generate-vs-bench.sh
# Issue 4's GPU figures: synth generate with a random-weight Llama-3.2-1B shape (Q4_K_M), 64 parallel sequences, for a
# fixed time, then synth bench at the same parallelism; prints the pipeline's generated tokens/s against the bench's
# and the instructions per hour. Two runs: with the demo grammars (random weights need them to parse; grammar
# sampling runs on the CPU) and without (nothing parses, but the engine's load is the pipeline's real one).
set -euo pipefail
synth="dotnet .device/app/SynthPipeline.Cli/synth.dll"
out=${OUT:-/tmp/generate-vs-bench}; mkdir -p "$out"
seconds=${SECONDS_PER_RUN:-240}
model=/tmp/llama-3.2-1b-q4_k_m.gguf
[[ -f $model ]] || $synth model create-random "$model" --shape llama-3.2-1b --type q4_k_m --vocab-from /tmp/llama-cuda/models/ggml-vocab-llama-bpe.gguf
export Teacher__GpuLayers=99 Teacher__ParallelSequences=${PARALLEL:-64} Teacher__ContextPerSequence=2048 Teacher__FlashAttention=on \
       Teacher__BatchSize=2048 Teacher__MicroBatchSize=512 Teacher__Threads=16
for grammars in ${GRAMMARS:-on off}; do
  rm -rf "output/gpu-$grammars"
  # SIGINT after the time limit: generate saves, exports and prints the engine's totals, then exits 130.
  timeout -s INT "$seconds" env Generate__DemoGrammars=$grammars $synth generate -m "$model" --count 100000 --run-name "gpu-$grammars" \
    > "$out/generate-$grammars.log" 2>&1 || true
  tail -3 "$out/generate-$grammars.log"
done
$synth bench -m "$model" --npp 256 --ntg 256 --npl "${PARALLEL:-64}" --json "$out/bench.json" 2>&1 | tee "$out/bench.log"
python3 - "$out" "${GRAMMARS:-on off}" <<'PY'
import json, re, sys
out = sys.argv[1]
bench = json.load(open(f"{out}/bench.json"))[0]
print("| run | generated tokens | seconds | pipeline gen tok/s | bench S_TG | bench e2e gen tok/s | pipeline / bench e2e | instructions | per hour |")
print("|---|---|---|---|---|---|---|---|---|")
for grammars in sys.argv[2].split():
    text = open(f"{out}/generate-{grammars}.log").read()
    m = re.search(r"engine: \d+ prompt tokens computed, \d+ reused from shared prefixes, (\d+) generated .*?; ([0-9.]+) s", text)
    n = re.search(r": (\d+) instructions, \d+ examples", text)
    if not m:
        print(f"| grammars {grammars} | (no engine line; see {out}/generate-{grammars}.log) |"); continue
    gen, secs = int(m[1]), float(m[2]); rate = gen / secs
    acc = int(n[1]) if n else 0
    print(f"| grammars {grammars} | {gen:,} | {secs:.0f} | {rate:,.0f} | {bench['speed_tg']:,.0f} | {bench['speed_gen_e2e']:,.0f} | {rate / bench['speed_gen_e2e']:.2f} | {acc} | {acc * 3600 / secs:,.0f} |")
PY

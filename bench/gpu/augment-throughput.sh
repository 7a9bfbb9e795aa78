#!/usr/bin/env bash
# On the GPU machine (see ../shared/device/README.md), after packing with
#   SynthCpuNative=false bash ../shared/device/pack.sh src/SynthPipeline.Cli/SynthPipeline.Cli.csproj
# run:  bash .device/gpu-env.sh bash bench/gpu/augment-throughput.sh
# Issue 5's GPU figures: synth augment on a generated corpus with a random-weight Llama-3.2-1B shape (Q4_K_M), fully
# offloaded, 64 parallel sequences: pages/min, chunks/min and per-variant yield. Random weights only parse with the
# demo grammars (whose sampling runs on the CPU); a second run without them shows the engine's load alone.
set -euo pipefail
synth="dotnet .device/app/SynthPipeline.Cli/synth.dll"
out=${OUT:-/tmp/augment-gpu}; mkdir -p "$out"
model=/tmp/llama-3.2-1b-q4_k_m.gguf
[[ -f $model ]] || $synth model create-random "$model" --shape llama-3.2-1b --type q4_k_m --vocab-from /tmp/llama-cuda/models/ggml-vocab-llama-bpe.gguf
export Teacher__GpuLayers=99 Teacher__ParallelSequences=${PARALLEL:-64} Teacher__ContextPerSequence=4096 Teacher__FlashAttention=on \
       Teacher__BatchSize=2048 Teacher__MicroBatchSize=512 Teacher__Threads=16
for grammars in on off; do
  echo "== demo grammars $grammars"
  Augment__DemoGrammars=$grammars SYNTH="$synth" OUT="$out" RUN="gpu-augment-$grammars" PAGES=${PAGES:-60} TIME_LIMIT=${TIME_LIMIT:-150} \
    bash bench/augment-throughput.sh "$model" 2>&1 | tail -9
done

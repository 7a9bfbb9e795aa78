#!/usr/bin/env bash
# On the GPU machine (see ../shared/device/README.md), after packing with
#   SynthCpuNative=false bash ../shared/device/pack.sh src/SynthPipeline.Cli/SynthPipeline.Cli.csproj
# run:  bash .device/gpu-env.sh bash bench/gpu/engine-vs-batched-bench.sh
# Writes random-weight Llama-3.2-1B and Llama-3.1-8B shapes (Q4_K_M) with the project's writer and llama.cpp's
# quantizer, then runs bench/engine-vs-batched-bench.sh on each, fully offloaded, flash attention on.
set -euo pipefail
synth="dotnet .device/app/SynthPipeline.Cli/synth.dll"
vocab=/tmp/llama-cuda/models/ggml-vocab-llama-bpe.gguf
out=${OUT:-/tmp}
for shape in ${SHAPES:-llama-3.2-1b llama-3.1-8b}; do
  model=/tmp/$shape-q4_k_m.gguf
  [[ -f $model ]] || $synth model create-random "$model" --shape "$shape" --type q4_k_m --vocab-from "$vocab"
  SYNTH="$synth" GPU_LAYERS=99 FA=on NPP=${NPP:-256} NTG=${NTG:-256} NPL=${NPL:-1,16,64,128,256} OUT="$out/$shape" \
    bash bench/engine-vs-batched-bench.sh "$model" 2>&1 | tail -20
done

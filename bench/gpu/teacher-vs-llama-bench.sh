#!/usr/bin/env bash
# On the GPU machine (see ../shared/device/README.md), after packing with
#   SynthCpuNative=false bash ../shared/device/pack.sh src/SynthPipeline.Cli/SynthPipeline.Cli.csproj
# run:  bash .device/gpu-env.sh bash bench/gpu/teacher-vs-llama-bench.sh
# Writes a random-weight Llama-3.2-1B-shape Q4_K_M model with the project's own writer and llama.cpp's quantizer,
# then measures single-sequence generation of `synth chat` against `llama-bench -n 128`, both fully offloaded.
set -euo pipefail
synth="dotnet .device/app/SynthPipeline.Cli/synth.dll"
model=/tmp/m1b-q4_k_m.gguf
[[ -f $model ]] || $synth model create-random "$model" --shape llama-3.2-1b --type q4_k_m --vocab-from /tmp/llama-cuda/models/ggml-vocab-llama-bpe.gguf
SYNTH="$synth" GPU_LAYERS=99 RUNS=5 bash bench/teacher-single-sequence.sh "$model" "$(command -v llama-bench)" 2>&1 | tee "${OUT:-/tmp}/teacher-vs-llama-bench.log"

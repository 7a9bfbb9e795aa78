#!/usr/bin/env bash
# Can LLamaSharp 0.30 drive a given llama.cpp? Builds bench/LlamaSharpAbi/llama_structs_probe.c against the llama.h of
# npm's node-llama-cpp@VERSION source bundle (or a llama.cpp checkout) and compares every size and offset with the
# structs LLamaSharp marshals. Runs here (no GPU needed); use it before building a CUDA llama.cpp for the GPU machine.
#   bash bench/gpu/llamasharp-abi-check.sh 3.20.0            # an npm bundle
#   bash bench/gpu/llamasharp-abi-check.sh /path/to/llama.cpp # a source tree
# Environment: QUANT_TENSOR_TYPES (name of llama_model_quantize_params' tensor override pointer in that header;
#   default tensor_types, b10361 calls it tt_overrides)
set -euo pipefail
src=${1:?usage: llamasharp-abi-check.sh NPM_VERSION|LLAMA_CPP_DIR}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
if [[ ! -d $src ]]; then
  (cd "$work" && npm pack --silent "node-llama-cpp@$src" >/dev/null && tar xzf ./*.tgz package/llama/gitRelease.bundle \
    && git clone -q --no-checkout package/llama/gitRelease.bundle repo && git -C repo archive HEAD include ggml/include | tar x)
  src=$work
fi
gcc -std=c11 -DQUANT_TENSOR_TYPES="${QUANT_TENSOR_TYPES:-tensor_types}" -I"$src/include" -I"$src/ggml/include" \
  "$here/LlamaSharpAbi/llama_structs_probe.c" -o "$work/probe"
"$work/probe" > "$work/probe.txt"
dotnet run --project "$here/LlamaSharpAbi" -c Release -- "$work/probe.txt"

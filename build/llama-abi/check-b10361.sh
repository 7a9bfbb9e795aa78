#!/usr/bin/env bash
# Builds llama.cpp b10361 (npm node-llama-cpp@3.20.0's source bundle), patched by patch-b10361.sh, as CPU shared
# libraries here, checks its struct layouts and function signatures against LLamaSharp 0.30.0's, and runs the native-layer tests and
# synth bench on it: what can be checked of the patched build before its CUDA twin runs on the GPU machine.
#   bash build/llama-abi/check-b10361.sh [WORK_DIR=/tmp/b10361-check]
# Needs npm, cmake and a C++ compiler; about 10 minutes on 2 cores.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=${1:-/tmp/b10361-check}; mkdir -p "$work"
if [[ ! -d $work/src ]]; then
  (cd "$work" && npm pack --silent node-llama-cpp@3.20.0 >/dev/null && tar xzf node-llama-cpp-3.20.0.tgz package/llama/gitRelease.bundle \
    && git clone -q package/llama/gitRelease.bundle src 2>/dev/null)
fi
bash "$root/build/llama-abi/patch-b10361.sh" "$work/src"
QUANT_TENSOR_TYPES=tt_overrides bash "$root/bench/gpu/llamasharp-abi-check.sh" "$work/src"
bash "$root/build/llama-abi/check-signatures.sh" "$work/src"
if [[ ! -f $work/src/build/bin/libllama.so ]]; then
  cmake -S "$work/src" -B "$work/src/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
    -DGGML_NATIVE=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF >"$work/cmake.log"
  cmake --build "$work/src/build" -j"$(nproc)" --target llama llama-batched-bench >"$work/build.log"
fi
export Teacher__NativeLibraryPath=$work/src/build/bin
cd "$root"
dotnet test tests/SynthPipeline.Llama.Tests -v q -nologo 2>&1 | tail -3
synth="dotnet src/SynthPipeline.Cli/bin/Debug/net10.0/synth.dll"
$synth model create-demo "$work/demo.gguf" >/dev/null
# The same greedy answer from LLamaSharp's bundled build and from the patched one (two llama.cpp versions: equal text
# is expected, not guaranteed, as CPU kernels may round differently).
bundled=$(env -u Teacher__NativeLibraryPath $synth chat -m "$work/demo.gguf" -n 48 -t 0 -p "Hello" --no-stream 2>/dev/null)
patched=$($synth chat -m "$work/demo.gguf" -n 48 -t 0 -p "Hello" --no-stream 2>"$work/chat.log")
grep -i "llama.cpp\|ggml" "$work/chat.log" | head -2 || true
if [[ $bundled == "$patched" ]]; then echo "greedy answer: the same on both builds"; else printf 'greedy answers differ:\n  bundled: %s\n  patched: %s\n' "$bundled" "$patched"; fi
$synth bench -m "$work/demo.gguf" --npp 128 --ntg 128 --npl 1,16 2>&1 | tail -5

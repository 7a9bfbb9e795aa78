#!/usr/bin/env bash
# Fetches test fixtures from llama.cpp's source bundle as packaged by npm (node-llama-cpp 3.22.1) into the repo's
# .native/ cache: headers (for the ABI probe), real vocab GGUFs and their tokenizer test vectors. The product itself
# needs none of this: llama.cpp comes with LLamaSharp's NuGet packages.
#   fetch-native.sh src  DEST
# Kept for comparisons with the binding before LLamaSharp (bench/llamasharp-vs-own-binding.sh):
#   fetch-native.sh cpu  DEST   prebuilt CPU libraries of llama.cpp v0.5.0
# Idempotent and safe to run concurrently (flock); writes DEST atomically.
set -euo pipefail
kind=$1 dest=$(realpath -m "${2%/}")
version=3.22.1
[[ -f "$dest/.complete" ]] && exit 0
command -v npm >/dev/null || { echo "fetch-native: npm is required to fetch llama.cpp ($kind); install Node.js/npm" >&2; exit 1; }
mkdir -p "$(dirname "$dest")"
exec 9>"$dest.lock"
flock 9
[[ -f "$dest/.complete" ]] && exit 0
work=$(mktemp -d "$(dirname "$dest")/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
case $kind in
  cpu)
    pkg=@node-llama-cpp/linux-x64
    npm pack --silent "$pkg@$version" >/dev/null
    tar xzf ./*.tgz
    mkdir -p out
    cp package/bins/linux-x64*/*.so out/
    ;;
  src)
    npm pack --silent "node-llama-cpp@$version" >/dev/null
    tar xzf ./*.tgz package/llama/gitRelease.bundle
    git clone -q --no-checkout package/llama/gitRelease.bundle repo 2>/dev/null
    mkdir -p out
    git -C repo archive HEAD include ggml/include \
      models/ggml-vocab-llama-bpe.gguf models/ggml-vocab-llama-bpe.gguf.inp models/ggml-vocab-llama-bpe.gguf.out \
      models/ggml-vocab-qwen2.gguf models/ggml-vocab-qwen2.gguf.inp models/ggml-vocab-qwen2.gguf.out | tar x -C out
    ;;
  *) echo "fetch-native: unknown kind '$kind'" >&2; exit 2 ;;
esac
touch out/.complete
rm -rf "$dest"
mv out "$dest"

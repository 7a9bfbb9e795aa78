#!/usr/bin/env bash
# Checks every function LLamaSharp 0.30.0 binds against a llama.cpp source's llama.h (argument count and register
# classes): struct layouts are checked by llamasharp-abi-check.sh, functions here.
#   bash build/llama-abi/check-signatures.sh LLAMA_CPP_SOURCE_DIR
set -euo pipefail
src=${1:?usage: check-signatures.sh LLAMA_CPP_SOURCE_DIR}
here=$(cd "$(dirname "$0")" && pwd)
dll=${LLAMASHARP_DLL:-$HOME/.nuget/packages/llamasharp/0.30.0/lib/net10.0/LLamaSharp.dll}
out=$(mktemp)
dotnet run "$here/pinvoke-signatures.cs" -- "$dll" >"$out"
python3 "$here/compare-signatures.py" "$src/include/llama.h" "$out"

#!/usr/bin/env bash
# Packs .device for the GPU machine with llama.cpp b10361 (npm node-llama-cpp@3.20.0) patched to LLamaSharp 0.30.0's
# struct layouts (build/llama-abi/patch-b10361.sh), so that gpu-env.sh's CUDA build is one synth can load
# (Teacher__NativeLibraryPath, which gpu-env.sh sets). Then packs the given projects as ../shared/device/pack.sh does,
# without LLamaSharp's CPU builds (the CUDA build replaces them there), and compresses them into .device/app.tar.xz:
# unpacked, the CLI and the runtime pass the 64 MiB that travels. issue17.sh unpacks it on the machine.
#   bash bench/gpu/pack-b10361.sh src/SynthPipeline.Cli/SynthPipeline.Cli.csproj
#   (there) bash .device/gpu-env.sh bash bench/gpu/issue17.sh
set -euo pipefail
root=$(git rev-parse --show-toplevel); cd "$root"
mkdir -p .device
if [[ $(cat .device/llama-src.version 2>/dev/null) != b10361-patched-penalties ]]; then
  t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
  (cd "$t" && npm pack --silent node-llama-cpp@3.20.0 >/dev/null && tar xzf node-llama-cpp-3.20.0.tgz package/llama/gitRelease.bundle \
    && git clone -q package/llama/gitRelease.bundle src 2>/dev/null)
  bash build/llama-abi/patch-b10361.sh "$t/src"
  (cd "$t/src" && items=$(for i in CMakeLists.txt cmake ggml src include common vendor tools app examples gguf-py LICENSE licenses \
      scripts/ui-assets.cmake models/ggml-vocab-llama-bpe.gguf models/ggml-vocab-qwen2.gguf; do [ -e "$i" ] && echo "$i"; done) \
    && tar cJf "$root/.device/llama-src.tar.xz" --exclude='ggml/src/ggml-'{sycl,vulkan,opencl,hexagon,metal,et,webgpu,openvino,cann,virtgpu} $items)
  echo b10361-patched-penalties > .device/llama-src.version
fi
# synth runs on ASP.NET Core's shared framework as well (synth serve), which pack.sh's runtime leaves out: without it
# the machine's first `dotnet synth.dll` stops at "You must install or update .NET … Microsoft.AspNetCore.App".
if ! tar tJf .device/dotnet-runtime.tar.xz 2>/dev/null | grep -q '^shared/Microsoft.AspNetCore.App/'; then
  d=$(dirname "$(readlink -f "$(command -v dotnet)")")
  (cd "$d" && tar cJf "$root/.device/dotnet-runtime.tar.xz" dotnet host shared/Microsoft.NETCore.App shared/Microsoft.AspNetCore.App)
fi
bash ../shared/device/pack.sh "$@"
rm -rf .device/app/*/runtimes/linux-x64/native/{avx,avx2,avx512,noavx}
tar cJf .device/app.tar.xz -C .device app && rm -rf .device/app
# What the machine will do first: the packed runtime starts the packed CLI (nothing of this machine's .NET involved).
check=$(mktemp -d); trap 'rm -rf "${t:-}" "$check"' EXIT
mkdir -p "$check/dotnet" "$check/app" && tar xJf .device/dotnet-runtime.tar.xz -C "$check/dotnet" && tar xJf .device/app.tar.xz -C "$check/app"
for app in "$check"/app/app/*/; do
  dll=$(ls "$app"*.runtimeconfig.json | head -1); dll=${dll%.runtimeconfig.json}.dll
  DOTNET_ROOT="$check/dotnet" "$check/dotnet/dotnet" "$dll" --help >"$check/start.log" 2>&1 \
    || { cat "$check/start.log" >&2; echo "pack-b10361: the packed runtime cannot start $(basename "$dll")" >&2; exit 1; }
  echo "checked: the packed runtime starts $(basename "$dll")"
done
du -sh .device

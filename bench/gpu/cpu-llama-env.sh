#!/usr/bin/env bash
# Like ../shared/device/gpu-env.sh, for checks that need CUDA only in TorchSharp (the trainer): unpacks .NET and
# builds llama.cpp v0.5.0 for the CPU only (libllama for the tokenizer and the quantizer, about a minute on 16 cores
# instead of the CUDA build's four), then runs "$@" with PyTorch's CUDA libtorch on the library path.
#   bash bench/gpu/cpu-llama-env.sh bash bench/gpu/train-vs-peft.sh
set -uo pipefail
dev=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/.device
if [[ ! -x /tmp/dotnet/dotnet ]]; then mkdir -p /tmp/dotnet && tar xJf "$dev/dotnet-runtime.tar.xz" -C /tmp/dotnet; fi
export DOTNET_ROOT=/tmp/dotnet PATH=/tmp/dotnet:$PATH DOTNET_CLI_TELEMETRY_OPTOUT=1
if [[ ! -f /tmp/llama-cuda/lib/libllama.so ]]; then
  echo "building llama.cpp v0.5.0 (CPU only) ..." >&2
  rm -rf /tmp/llama-build && mkdir -p /tmp/llama-build && tar xJf "$dev/llama-src.tar.xz" -C /tmp/llama-build
  ( cd /tmp/llama-build && cmake -B build -G Ninja -DGGML_CUDA=OFF -DBUILD_SHARED_LIBS=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
      -DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DGGML_NATIVE=ON >/tmp/llama-build/cmake.log 2>&1 \
    && cmake --build build -j"$(nproc)" --target llama >/tmp/llama-build/build.log 2>&1 ) || { tail -n 30 /tmp/llama-build/*.log >&2; exit 1; }
  mkdir -p /tmp/llama-cuda/lib
  cp -a /tmp/llama-build/build/bin/lib*.so* /tmp/llama-cuda/lib/
  cp -a /tmp/llama-build/gguf-py /tmp/llama-build/models /tmp/llama-cuda/
fi
TORCH_LIB=$(python3 -c 'import torch,os;print(os.path.join(os.path.dirname(torch.__file__),"lib"))')
NV_LIB=$(dirname "$TORCH_LIB")/../nvidia/cu13/lib
export LLAMA_CUDA_LIB=/tmp/llama-cuda/lib TORCH_LIB
export LD_LIBRARY_PATH=/tmp/llama-cuda/lib:$TORCH_LIB:$NV_LIB:/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export Teacher__NativeLibraryPath=/tmp/llama-cuda/lib
exec "$@"

#!/usr/bin/env bash
# Like ../shared/device/gpu-env.sh, for checks that need CUDA only in TorchSharp (the trainer): unpacks .NET and the
# llama.cpp source bundle's vocab GGUFs, then runs "$@" with PyTorch's CUDA libtorch on the library path. llama.cpp
# itself (tokenizer, quantizer) is LLamaSharp's bundled CPU build, published with the app: nothing is compiled here.
#   bash bench/gpu/cpu-llama-env.sh bash bench/gpu/train-vs-peft.sh
set -uo pipefail
dev=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/.device
if [[ ! -x /tmp/dotnet/dotnet ]]; then mkdir -p /tmp/dotnet && tar xJf "$dev/dotnet-runtime.tar.xz" -C /tmp/dotnet; fi
export DOTNET_ROOT=/tmp/dotnet PATH=/tmp/dotnet:$PATH DOTNET_CLI_TELEMETRY_OPTOUT=1
if [[ ! -d /tmp/llama-cuda/models ]]; then
  rm -rf /tmp/llama-build && mkdir -p /tmp/llama-build /tmp/llama-cuda && tar xJf "$dev/llama-src.tar.xz" -C /tmp/llama-build
  cp -a /tmp/llama-build/gguf-py /tmp/llama-build/models /tmp/llama-cuda/
fi
TORCH_LIB=$(python3 -c 'import torch,os;print(os.path.join(os.path.dirname(torch.__file__),"lib"))')
NV_LIB=$(dirname "$TORCH_LIB")/../nvidia/cu13/lib
export TORCH_LIB
export LD_LIBRARY_PATH=$TORCH_LIB:$NV_LIB:/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
unset Teacher__NativeLibraryPath
exec "$@"

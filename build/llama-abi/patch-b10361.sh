#!/usr/bin/env bash
# Makes llama.cpp b10361 (npm node-llama-cpp@3.20.0's source bundle) lay out its public structs as llama.cpp c0c7e147
# does, the commit LLamaSharp 0.30.0 marshals, so that a CUDA build of it can be driven by LLamaSharp; the only
# difference bench/gpu/llamasharp-abi-check.sh finds is one field, llama_context_params.n_outputs_max_per_seq (a limit
# for in-graph sampling, added after c0c7e147). The patch removes it from the public struct and fixes the value to
# llama.cpp's own default (1), and exports synth_llamasharp_layouts(), which is what lets Teacher:NativeLibraryPath
# accept the build although its ggml reports 0.19.0.
# One function differs as well (build/llama-abi/check-signatures.sh finds it): llama_sampler_init_penalties gained a
# leading n_vocab, so LLamaSharp's call (last_n, repeat, freq, present) would leave last_n to whatever the second
# integer register holds. The patch gives that name LLamaSharp's signature back (n_vocab, used only by in-graph
# penalties, which synth never attaches, is 0) and renames b10361's own to llama_sampler_init_penalties_vocab.
#   bash build/llama-abi/patch-b10361.sh SOURCE_DIR     (idempotent)
set -euo pipefail
src=${1:?usage: patch-b10361.sh LLAMA_CPP_SOURCE_DIR}
cd "$src"
penalties() {
  grep -q llama_sampler_init_penalties_vocab include/llama.h && return 0
  grep -rl 'llama_sampler_init_penalties(' include src common tests tools examples 2>/dev/null \
    | xargs sed -i 's/llama_sampler_init_penalties(/llama_sampler_init_penalties_vocab(/g'
  python3 - <<'PY'
p = "include/llama.h"
s = open(p).read()
anchor = "    LLAMA_API struct llama_sampler * llama_sampler_init_penalties_vocab("
assert anchor in s, "llama.h: llama_sampler_init_penalties not found"
s = s.replace(anchor, """    // synth: LLamaSharp 0.30.0's signature (llama.cpp c0c7e147); n_vocab is 0, so not for in-graph sampling.
    LLAMA_API struct llama_sampler * llama_sampler_init_penalties(int32_t penalty_last_n, float penalty_repeat, float penalty_freq, float penalty_present);

""" + anchor, 1)
open(p, "w").write(s)
PY
  cat >> src/llama-sampler.cpp <<'CPP'

// synth: LLamaSharp 0.30.0 binds the four-argument form of c0c7e147 (build/llama-abi/patch-b10361.sh).
struct llama_sampler * llama_sampler_init_penalties(int32_t penalty_last_n, float penalty_repeat, float penalty_freq, float penalty_present) {
    return llama_sampler_init_penalties_vocab(0, penalty_last_n, penalty_repeat, penalty_freq, penalty_present);
}
CPP
}
if grep -q synth_llamasharp_layouts src/llama.cpp; then penalties; echo "already patched (penalties checked): $src"; exit 0; fi
grep -q 'uint32_t n_outputs_max_per_seq; // max outputs per sequence' include/llama.h \
  || { echo "patch-b10361: $src/include/llama.h is not b10361's (no n_outputs_max_per_seq in llama_context_params)" >&2; exit 1; }
sed -i '/uint32_t n_outputs_max_per_seq; \/\/ max outputs per sequence/d' include/llama.h
# The value llama_context_default_params() gave; the context reads it from here instead of from the caller's struct.
python3 - <<'PY'
import re
p = "src/llama-context.cpp"
s = open(p).read()
old = re.search(r"cparams\.n_outputs_max_per_seq = params\.n_outputs_max_per_seq == 0 \?\s*cparams\.n_outputs_max : std::min\(params\.n_outputs_max_per_seq, cparams\.n_outputs_max\);", s)
assert old, "llama-context.cpp: the n_outputs_max_per_seq assignment was not found"
s = s.replace(old.group(0), "cparams.n_outputs_max_per_seq = std::min(1u, cparams.n_outputs_max); // synth: not in LLamaSharp 0.30's llama_context_params")
line = re.search(r"\n\s*/\*\.n_outputs_max_per_seq\s*=\*/ 1,", s)
assert line, "llama-context.cpp: the default initializer was not found"
s = s.replace(line.group(0), "")
open(p, "w").write(s)
for p, pattern in (("common/common.cpp", r"\n\s*cparams\.n_outputs_max_per_seq = [^\n]*;"),
                   ("common/speculative.cpp", r"\n\s*result\.n_outputs_max_per_seq = [^\n]*;")):
    s = open(p).read()
    s, n = re.subn(pattern, "", s)
    assert n == 1, f"{p}: {n} assignments of n_outputs_max_per_seq to a llama_context_params"
    open(p, "w").write(s)
PY
cat >> src/llama.cpp <<'CPP'

// synth: this build's public structs were patched to LLamaSharp 0.30.0's layouts (build/llama-abi/patch-b10361.sh).
extern "C" LLAMA_API const char * synth_llamasharp_layouts(void) {
    return "b10361 with llama_context_params as in c0c7e147";
}
CPP
penalties
echo "patched: $src"

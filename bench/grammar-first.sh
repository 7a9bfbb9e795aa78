#!/usr/bin/env bash
# Grammar-first sampling (issue 17): tokens/s of grammar-constrained decoding against unconstrained decoding, on the
# CPU, for the demo model and a random-weight Llama-3.2-1B shape (128K vocabulary), at 1, 4 and 16 sequences.
# The grammar is built so that the model's own pick usually satisfies it (it refuses only tokens with < > { or }), the
# case grammar-first is for; EveryToken is the old way (the grammar masks the whole vocabulary before every pick).
# Usage: bench/grammar-first.sh  (bar: grammar-first >= 0.8x unconstrained S_TG)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${WORK:-/tmp/grammar-bench}; mkdir -p "$work"
synth="dotnet src/SynthPipeline.Cli/bin/Release/net10.0/synth.dll"
dotnet build -c Release src/SynthPipeline.Cli -v q >/dev/null # throughput needs the optimised build (Debug disables the JIT's optimisations)
vocab=$(ls .native/llama-*/src/models/ggml-vocab-llama-bpe.gguf | head -1)
big=$work/llama-3.2-1b-q4_k_m.gguf
[[ -f $big ]] || $synth model create-random "$big" --shape llama-3.2-1b --type q4_k_m --vocab-from "$vocab" >/dev/null
printf 'root ::= [^<>{}]*\n' > "$work/permissive.gbnf"
run() { # model-args... -- label
  local label=$1; shift
  for mode in none First EveryToken; do
    local extra=(); [[ $mode == none ]] || extra=(--grammar-file "$work/permissive.gbnf" --grammar-mode "$mode")
    $synth bench "$@" "${extra[@]}" --json "$work/$label-$mode.json" > /dev/null 2>&1
  done
  python3 - "$work" "$label" <<'PY'
import json, sys
work, label = sys.argv[1], sys.argv[2]
rows = {m: {r["b"]: r["speed_tg"] for r in json.load(open(f"{work}/{label}-{m}.json"))} for m in ("none", "First", "EveryToken")}
print(f"{label}: S_TG tokens/s (ratio to unconstrained)")
print("| B | unconstrained | grammar-first | every token (before) |")
print("|---|---|---|---|")
for b in sorted(rows["none"]):
    n = rows["none"][b]
    print(f"| {b} | {n:.1f} | {rows['First'][b]:.1f} ({rows['First'][b] / n:.2f}x) | {rows['EveryToken'][b]:.1f} ({rows['EveryToken'][b] / n:.2f}x) |")
PY
}
run demo --npl 1,4,16 --npp 64 --ntg 512
run llama-3.2-1b -m "$big" --npl 1,4,16 --npp 32 --ntg 48

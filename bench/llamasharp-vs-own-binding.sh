#!/usr/bin/env bash
# Issue 12's CPU comparison, in one session: the engine and the single-sequence teacher on LLamaSharp (NEW) against
# the project's own binding over llama.cpp v0.5.0 (OLD, a build of the commit before the switch), interleaved so
# machine drift hits both alike.
#   bash bench/llamasharp-vs-own-binding.sh OLD_SYNTH_DLL NEW_SYNTH_DLL [VOCAB_GGUF]
# Environment: NPP (128) NTG (64) NPL (1,4,16) REPEAT (3) COUNT (500, generate) OUT (/tmp/ls-vs-own)
# Models: the demo model and a random-weight Llama-3.2-1B shape (Q4_K_M, tokenizer from VOCAB_GGUF). Prints a table last.
set -euo pipefail
old=${1:?usage: llamasharp-vs-own-binding.sh OLD_SYNTH_DLL NEW_SYNTH_DLL [VOCAB_GGUF]}
new=${2:?usage}
vocab=${3:-.native/llama-v0.5.0/src/models/ggml-vocab-llama-bpe.gguf}
npp=${NPP:-128}; ntg=${NTG:-64}; npl=${NPL:-1,4,16}; repeat=${REPEAT:-3}; count=${COUNT:-500}
out=${OUT:-/tmp/ls-vs-own}; mkdir -p "$out"; rm -f "$out"/*.json "$out"/*.txt
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
export Teacher__FlashAttention=off Teacher__Threads=$(nproc)
dotnet "$new" model create-demo "$out/demo.gguf" >/dev/null
[[ -f $out/m1b.gguf ]] || dotnet "$new" model create-random "$out/m1b.gguf" --vocab-from "$vocab" --shape llama-3.2-1b --type q4_k_m
for model in demo m1b; do
  for r in $(seq 1 "$repeat"); do
    for build in old new; do
      dll=$old; [[ $build == new ]] && dll=$new
      Teacher__ContextPerSequence=$((npp + ntg + 16)) dotnet "$dll" bench -m "$out/$model.gguf" --npp "$npp" --ntg "$ntg" --npl "$npl" --sampling cpu \
        --json "$out/bench-$model-$build-$r.json" > "$out/bench-$model-$build-$r.txt" 2>&1
      dotnet "$dll" chat -m "$out/$model.gguf" -p "Write a long story about a lighthouse keeper." -n "$ntg" --ignore-eos --seed 1 --no-stream --stats \
        > /dev/null 2> "$out/chat-$model-$build-$r.txt"
    done
  done
done
for build in old new; do
  dll=$old; [[ $build == new ]] && dll=$new
  start=$(date +%s.%N)
  (cd "$work" && mkdir -p $build && cd $build && dotnet "$dll" generate --count "$count" --run-name g > "$out/generate-$build.txt" 2>&1)
  echo "$(date +%s.%N) - $start" | bc > "$out/generate-$build-seconds.txt"
done
python3 - "$out" "$repeat" <<'PY'
import json, re, sys, glob, statistics
out, repeat = sys.argv[1], int(sys.argv[2])
def best(values): return max(values) if values else float('nan')
print("| model | sequences | old S_TG t/s | new S_TG t/s | new/old |")
print("|---|---|---|---|---|")
for model in ("demo", "m1b"):
    rows = {}
    for build in ("old", "new"):
        for f in glob.glob(f"{out}/bench-{model}-{build}-*.json"):
            for row in json.load(open(f)):
                rows.setdefault((row["b"], build), []).append(row["speed_tg"])
    for b in sorted({k[0] for k in rows}):
        o, n = best(rows.get((b, "old"), [])), best(rows.get((b, "new"), []))
        print(f"| {model} | {b} | {o:.1f} | {n:.1f} | {n / o:.3f} |")
print()
print("| model | old chat decode t/s | new chat decode t/s | new/old |")
print("|---|---|---|---|")
for model in ("demo", "m1b"):
    vals = {}
    for build in ("old", "new"):
        for f in glob.glob(f"{out}/chat-{model}-{build}-*.txt"):
            m = re.search(r"decode_tokens_per_s=([\d.]+)", open(f).read())
            if m: vals.setdefault(build, []).append(float(m.group(1)))
    o, n = best(vals.get("old", [])), best(vals.get("new", []))
    print(f"| {model} | {o:.1f} | {n:.1f} | {n / o:.3f} |")
print()
for build in ("old", "new"):
    print(f"generate --count: {build} {float(open(f'{out}/generate-{build}-seconds.txt').read()):.1f} s")
PY

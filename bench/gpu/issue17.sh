#!/usr/bin/env bash
# Every GPU measurement of issue 17 in one call (the lent machine gives 15 minutes in all, llama.cpp's build included).
# Needs a CUDA llama.cpp that LLamaSharp 0.30.0 can drive (commit c0c7e147's layouts; see README.md beside this file)
# in Teacher__NativeLibraryPath, and llama-batched-bench from the same source on PATH; pack and run:
#   bash bench/gpu/pack-b10361.sh src/SynthPipeline.Cli/SynthPipeline.Cli.csproj   (here)
#   bash .device/gpu-env.sh bash bench/gpu/issue17.sh                               (there, carrying .device)
# Parts, in order (PARTS to choose; each prints its table, and a summary comes last):
#   engine    1B shape, B 16,64,128,256, PP/TG 256: CPU samplers over the whole vocabulary, over the top candidates,
#             with text overlapped with decode, with the top-k cut in the graph (topk-in-graph), and in-graph
#             sampling (GRAPH=1); against llama-batched-bench
#             (bar: S_TG >= 0.9x at every B, top-k 40 / top-p 0.95 / temperature 0.8); then Self-Instruct's chain
#             (top-p 0.5, presence 2) at B 64,256 with bounded candidates and over the whole vocabulary
#   grammar   1B shape, B 64: a permissive grammar, grammar-first and every-token, against no grammar (bar: >= 0.8x)
#   pipeline  1B shape, 256 sequences: synth generate (grammars off) for PIPE_SECONDS with PrefillBudget 0 and 512,
#             then synth bench at 256 (bar: pipeline >= 0.85x bench end to end)
#   headline  8B shape, 256 sequences: synth generate (grammars off) for HEAD_SECONDS; instructions per hour and the
#             hours for an Alpaca-scale run (52K instructions with instances; goal <= 2 h on one H200)
# Both generate parts rehearse (Teacher:Rehearsal, REHEARSAL=false to turn it off): random weights never stop and
# rarely parse, so their requests would all run to the token limit and yield almost nothing; the rehearsal forces
# answers in a chat model's shape and lengths, which the model still decodes token by token.
# DEADLINE (epoch seconds) bounds the call: a part that would not finish before it is skipped and named in the summary
# (rerun those with PARTS in a second call), and the generate runs shorten to what is left. Set it before gpu-env.sh,
# so the llama.cpp build counts:  DEADLINE=$(( $(date +%s) + 570 )) bash .device/gpu-env.sh bash bench/gpu/issue17.sh
# Trimmed to fit the 15 minutes: the engine part runs the CPU samplers as before the issue (whole) and as now
# (top+overlap), and the top-k cut in the graph with the rest of the chain on the CPU (topk-in-graph: only k logits a
# token leave the GPU) (CONFIGS="whole top top+overlap" adds the top candidates without the overlap), in-graph sampling only
# with GRAPH=1; the pipeline part runs PrefillBudget 0 (PIPE_BUDGETS="0 512" adds a budget).
set -euo pipefail
cd "$(dirname "$0")/../.."
# pack-b10361.sh ships the CLI compressed (what travels is limited to 64 MiB).
if [[ -z ${SYNTH:-} && -f .device/app.tar.xz && ! -d /tmp/synth-app/app ]]; then mkdir -p /tmp/synth-app && tar xJf .device/app.tar.xz -C /tmp/synth-app; fi
synth=${SYNTH:-dotnet $( [[ -d /tmp/synth-app/app ]] && echo /tmp/synth-app/app || echo .device/app )/SynthPipeline.Cli/synth.dll}
vocab=${VOCAB:-/tmp/llama-cuda/models/ggml-vocab-llama-bpe.gguf}
out=${OUT:-/tmp/issue17}; mkdir -p "$out"
parts=${PARTS:-engine grammar pipeline headline}
# The CPU check of this script lowers these: shapes, sequences of the pipeline and headline, of the grammar part, PP/TG.
small=${SMALL:-llama-3.2-1b}; big=${BIG:-llama-3.1-8b}; parallel=${PARALLEL:-256}; grammar_b=${GRAMMAR_B:-64}; npp=${NPP:-256}; ntg=${NTG:-256}
export Teacher__GpuLayers=99 Teacher__FlashAttention=on Teacher__Threads=${THREADS:-16} Teacher__BatchSize=2048 Teacher__MicroBatchSize=512
# Models in memory where there is room (the 8B shape's F16 intermediate is 16 GB): no disk between writing and quantizing.
models=/tmp; [[ $(df -Pk /dev/shm 2>/dev/null | awk 'NR==2 {print $4}') -gt 31457280 ]] 2>/dev/null && models=/dev/shm
model() { # shape -> path (random weights of the real shape, Q4_K_M)
  local path=$models/$1-q4_k_m.gguf
  [[ -f $path ]] || $synth model create-random "$path" --shape "$1" --type q4_k_m --vocab-from "$vocab" >"$out/create-$1.log" 2>&1
  echo "$path"
}
summary=()
skipped=()
left() { if [[ -n ${DEADLINE:-} ]]; then echo $(( DEADLINE - $(date +%s) )); else echo 999999; fi; }
# fits PART SECONDS: whether about SECONDS remain before DEADLINE; if not, the part is named among the skipped.
fits() {
  local l; l=$(left)
  (( l >= $2 )) && return 0
  skipped+=("$1"); echo "skipped $1: ${l} s left before DEADLINE, it needs about $2"; return 1
}

if [[ $parts == *engine* ]] && fits engine "${ENGINE_NEEDS:-280}"; then
  m=$(model "$small")
  NPP=$npp NTG=$ntg NPL=${NPL:-16,64,128,256} GPU_LAYERS=99 FA=on THREADS=${THREADS:-16} REPEAT=1 SYNTH="$synth" OUT="$out/engine" \
    CONFIGS=${CONFIGS:-whole top+overlap topk-in-graph} bash bench/sampling-overlap.sh "$m" "$(dirname "$(command -v llama-batched-bench)")" | tail -8
  if [[ ${GRAPH:-0} == 1 ]]; then
    Teacher__Sampling=graph $synth bench -m "$m" --npp "$npp" --ntg "$ntg" --npl "${NPL:-16,64,128,256}" --sampling graph --json "$out/engine/graph.json" | tail -6
  fi
  summary+=("engine: $out/engine/summary.md")
  # Self-Instruct's own chain (top-p 0.5 without top-k, presence 2: its lists and examples ask for it): bounded
  # candidates against the whole vocabulary (Teacher:TopCandidates=off), at the engine bar's top-k chain's B.
  for mode in bounded whole; do
    tc=on; [[ $mode == whole ]] && tc=off
    Teacher__TopCandidates=$tc $synth bench -m "$m" --npp "$npp" --ntg "$ntg" --npl "${SI_NPL:-256}" --top-k 0 --top-p 0.5 --temperature 0.7 \
      --presence-penalty 2 --json "$out/engine/self-instruct-$mode.json" >"$out/engine/self-instruct-$mode.log" 2>&1
  done
  line=$(python3 - "$out/engine" <<'PY'
import json, sys
rows = {m: {r["b"]: r for r in json.load(open(f"{sys.argv[1]}/self-instruct-{m}.json"))} for m in ("bounded", "whole")}
def cell(r): return f"{r['speed_tg']:,.0f} t/s ({r['t_sampling'] * 1e6 / (r['tg'] * r['b']):,.0f} µs sampling a token)"
print("Self-Instruct chain S_TG: " + ", ".join(
    f"B={b} bounded {cell(rows['bounded'][b])}, {rows['bounded'][b]['whole_vocabulary_draws']} draws over the whole vocabulary / whole vocabulary {cell(rows['whole'][b])}"
    for b in sorted(rows["bounded"])))
PY
)
  echo "$line"; summary+=("$line")
fi

if [[ $parts == *grammar* ]] && fits grammar "${GRAMMAR_NEEDS:-60}"; then
  m=$(model "$small")
  printf 'root ::= [^<>{}]*\n' > "$out/permissive.gbnf"
  for mode in none First EveryToken; do
    extra=(); [[ $mode == none ]] || extra=(--grammar-file "$out/permissive.gbnf" --grammar-mode "$mode")
    $synth bench -m "$m" --npp "$npp" --ntg "$ntg" --npl "$grammar_b" "${extra[@]}" --json "$out/grammar-$mode.json" >"$out/grammar-$mode.log" 2>&1
  done
  line=$(python3 - "$out" "$grammar_b" <<'PY'
import json, sys
o = sys.argv[1]
s = {m: json.load(open(f"{o}/grammar-{m}.json"))[0]["speed_tg"] for m in ("none", "First", "EveryToken")}
print(f"grammar B={sys.argv[2]}: none {s['none']:,.0f} t/s, grammar-first {s['First']:,.0f} ({s['First'] / s['none']:.2f}x), every token {s['EveryToken']:,.0f} ({s['EveryToken'] / s['none']:.2f}x)")
PY
)
  echo "$line"; summary+=("$line")
fi

pipeline() { # label shape seconds budget -> "generated seconds instructions per-hour-over-the-second-half"
  local m seconds; m=$(model "$2")
  # What is left before DEADLINE, less half a minute to load the model and export what the run made.
  seconds=$(( $(left) - 30 )); (( seconds < $3 )) || seconds=$3; (( seconds >= 10 )) || seconds=10
  rm -rf "output/issue17-$1"
  timeout -s INT "$seconds" env Generate__DemoGrammars=off Teacher__Rehearsal=${REHEARSAL:-true} Teacher__ParallelSequences=$parallel Teacher__ContextPerSequence=1024 \
    Teacher__PrefillBudget="$4" $synth generate -m "$m" --count 1000000 --run-name "issue17-$1" >"$out/generate-$1.log" 2>&1 || true
  # Instructions count once their examples are stored (the unit of "52K instructions with instances").
  python3 - "$out/generate-$1.log" "output/issue17-$1/state.db" <<'PY'
import os, re, sqlite3, sys
t = open(sys.argv[1]).read()
m = re.search(r"engine: \d+ prompt tokens computed, \d+ reused from shared prefixes, (\d+) generated .*?; ([0-9.]+) s", t)
n, steady = 0, 0
if os.path.exists(sys.argv[2]):
    db = sqlite3.connect(sys.argv[2])
    n = db.execute("select count(distinct instruction_id) from instances").fetchone()[0]
    # The first lists fill the engine before any example is asked: the second half of the run is the steady rate.
    first, last = db.execute("select min(at), max(at) from request_usage").fetchone()
    if first is not None and last > first:
        mid = (first + last) / 2
        done = db.execute("select count(*) from request_usage where stage like 'instances-%' and at >= ?", (mid,)).fetchone()[0]
        steady = done * 3600 / (last - mid)
print(m[1] if m else 0, m[2] if m else 0, n, round(steady))
PY
}

if [[ $parts == *pipeline* ]] && fits pipeline "${PIPELINE_NEEDS:-120}"; then
  m=$(model "$small")
  $synth bench -m "$m" --npp "$npp" --ntg "$ntg" --npl "$parallel" --json "$out/pipeline-bench.json" >"$out/pipeline-bench.log" 2>&1
  e2e=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["speed_gen_e2e"])' "$out/pipeline-bench.json")
  for budget in ${PIPE_BUDGETS:-0}; do
    fits "pipeline(PIPE_BUDGETS=$budget)" 90 || continue
    read -r gen secs acc steady <<<"$(pipeline "1b-budget-$budget" "$small" "${PIPE_SECONDS:-60}" "$budget")"
    line=$(python3 -c "g,s,e=$gen,$secs,$e2e; print(f'pipeline $small B=$parallel PrefillBudget $budget: {g/s if s else 0:,.0f} generated t/s, bench e2e {e:,.0f}, ratio {(g/s)/e if s else 0:.2f}; $acc instructions in {s:.0f} s')")
    echo "$line"; summary+=("$line")
  done
fi

# Writing and quantizing the 8B shape takes a few minutes on a fresh machine; a warm one still has it.
if [[ $parts == *headline* ]] && fits headline $([[ -f $models/$big-q4_k_m.gguf ]] && echo 120 || echo "${HEADLINE_NEEDS:-300}"); then
  read -r gen secs acc steady <<<"$(pipeline 8b-headline "$big" "${HEAD_SECONDS:-150}" 0)"
  line=$(python3 -c "g,s,a,st=$gen,$secs,$acc,$steady; h=a*3600/s if s else 0; inf=float('inf'); print(f'headline $big B=$parallel: {a} instructions with examples in {s:.0f} s = {h:,.0f} per hour, 52,000 in {52000/h if h else inf:.2f} h; second half of the run {st:,.0f} per hour, 52,000 in {52000/st if st else inf:.2f} h ({g/s if s else 0:,.0f} generated t/s)')")
  echo "$line"; summary+=("$line")
fi

echo; echo "## issue 17 on $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)"
[[ -f $out/engine/summary.md ]] && cat "$out/engine/summary.md"
printf '%s\n' "${summary[@]}"
(( ${#skipped[@]} == 0 )) || echo "skipped before DEADLINE: ${skipped[*]} (rerun with PARTS=\"${skipped[*]}\")"

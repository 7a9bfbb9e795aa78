#!/usr/bin/env bash
# Prefill budget (issue 17) on a random-weight model of a real shape: the Self-Instruct pipeline rehearsed
# (bench/rehearsal.sh: a chat model's answers forced while the engine decodes every token) at each parallelism in NPL,
# with Teacher:PrefillBudget at each value of BUDGETS, against synth bench at the same parallelism.
#   bash bench/prefill-budget-rehearsal.sh MODEL
# Environment: NPL ("1 4 16") BUDGETS ("0 128") SECONDS_PER_RUN (90) NPP/NTG (128/128, the bench rows) OUT (/tmp/prefill-rehearsal);
#   Teacher__* settings pass through (CPU: Teacher__Threads, Teacher__FlashAttention=off; GPU: Teacher__GpuLayers=99).
# Prints one table last: per parallelism and budget, generated t/s through the pipeline and its ratio to the bench's end-to-end rate.
set -euo pipefail
model=$(realpath "${1:?usage: prefill-budget-rehearsal.sh MODEL}")
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-/tmp/prefill-rehearsal}; mkdir -p "$out"
dotnet build -c Release "$here/../src/SynthPipeline.Cli" -v q >/dev/null
export SYNTH="dotnet $here/../src/SynthPipeline.Cli/bin/Release/net10.0/synth.dll"
for p in ${NPL:-1 4 16}; do
  for b in ${BUDGETS:-0 128}; do
    Teacher__PrefillBudget=$b RUNS=rehearsal PARALLEL=$p SECONDS_PER_RUN=${SECONDS_PER_RUN:-90} NPP=${NPP:-128} NTG=${NTG:-128} \
      CONTEXT=${CONTEXT:-2048} OUT="$out/p$p-b$b" bash "$here/rehearsal.sh" "$model" >/dev/null
  done
done
python3 - "$out" ${NPL:-1 4 16} -- ${BUDGETS:-0 128} <<'PY'
import json, re, sys
out = sys.argv[1]; split = sys.argv.index("--")
npl, budgets = sys.argv[2:split], sys.argv[split + 1:]
print("| sequences | PrefillBudget | pipeline generated t/s | decodes | synth bench e2e generated t/s | pipeline / bench e2e |")
print("|---|---|---|---|---|---|")
for p in npl:
    for b in budgets:
        d = f"{out}/p{p}-b{b}"
        log = open(f"{d}/rehearsal.log").read()
        m = re.search(r"engine: (\d+) prompt tokens computed, (\d+) reused from shared prefixes, (\d+) generated .*?, (\d+) decodes; ([0-9.]+) s", log)
        bench = json.load(open(f"{d}/bench.json"))[0]
        if not m:
            print(f"| {p} | {b} | (no engine line in {d}/rehearsal.log) | | {bench['speed_gen_e2e']:,.1f} | |")
            continue
        rate = int(m[3]) / float(m[5])
        print(f"| {p} | {b} | {rate:,.1f} | {m[4]} | {bench['speed_gen_e2e']:,.1f} | {rate / bench['speed_gen_e2e']:.2f} |")
PY

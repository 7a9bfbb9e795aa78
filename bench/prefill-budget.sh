#!/usr/bin/env bash
# Prefill budget (issue 17): the synth generate pipeline on the demo model at 16 parallel sequences with
# Teacher:PrefillBudget 0 (no budget), 64 and 16 prompt tokens per step, against synth bench at the same parallelism.
# Prints the engine's totals for each run (decodes, generated tokens, seconds) and the bench row.
# Usage: bench/prefill-budget.sh [count] [parallel]   (defaults 60 16; on a GPU add Teacher__GpuLayers=99 and -m model)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-60}; parallel=${2:-16}
work=$(mktemp -d)
synth="dotnet $PWD/src/SynthPipeline.Cli/bin/Release/net10.0/synth.dll"
dotnet build -c Release src/SynthPipeline.Cli -v q >/dev/null # throughput needs the optimised build (Debug disables the JIT's optimisations)
cd "$work"
echo "| PrefillBudget | decodes | generated | prompt tokens computed | engine seconds | generated tok/s |"
echo "|---|---|---|---|---|---|"
for budget in 0 64 16; do
  line=$(Teacher__ParallelSequences=$parallel Teacher__PrefillBudget=$budget Teacher__FlashAttention=off $synth generate --count "$count" --run-name "b$budget" 2>&1 | grep '^engine:')
  python3 - "$budget" "$line" <<'PY'
import re, sys
budget, line = sys.argv[1], sys.argv[2]
m = re.search(r"engine: (\d+) prompt tokens computed, \d+ reused from shared prefixes, (\d+) generated .*?, (\d+) decodes; ([\d.]+) s", line)
prompt, generated, decodes, seconds = int(m[1]), int(m[2]), int(m[3]), float(m[4])
print(f"| {budget} | {decodes} | {generated} | {prompt} | {seconds:.1f} | {generated / seconds:.0f} |")
PY
done
Teacher__FlashAttention=off $synth bench --npl "$parallel" --npp 128 --ntg 128 2>/dev/null | tail -1
rm -rf "$work"

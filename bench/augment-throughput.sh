#!/usr/bin/env bash
# synth augment through the whole graph on a generated corpus: pages/minute, chunks/minute, and each variant's yield
# with the reasons for the rest.
#   bash bench/augment-throughput.sh [MODEL]      (no MODEL: the demo model)
# Environment: PAGES (20), SYNTH (command running synth; default the Release build, built first), OUT (log folder), RUN (run name),
#   and any Teacher__* / Augment__* settings.
set -euo pipefail
[[ -n ${SYNTH:-} ]] || dotnet build -c Release "$(cd "$(dirname "$0")/.." && pwd)/src/SynthPipeline.Cli" -v q >/dev/null # throughput needs the optimised build (Debug disables the JIT's optimisations)
synth=${SYNTH:-dotnet src/SynthPipeline.Cli/bin/Release/net10.0/synth.dll}
pages=${PAGES:-20}
out=${OUT:-/tmp/augment-bench}; mkdir -p "$out"
run=${RUN:-augment-bench-$(date +%s)}
corpus="$out/corpus-$pages"
rm -rf "$corpus"; python3 "$(dirname "$0")/tools/make_corpus.py" "$corpus" "$pages"
model=(); [[ -n ${1:-} ]] && model=(-m "$1")
# TIME_LIMIT (seconds): stop with SIGINT (state saved, exported, exit 130) and count the chunks finished by then.
status=0
if [[ -n ${TIME_LIMIT:-} ]]; then
  timeout --preserve-status -s INT "$TIME_LIMIT" $synth augment "$corpus" --run-name "$run" "${model[@]}" 2> "$out/$run.log" || status=$?
else
  $synth augment "$corpus" --run-name "$run" "${model[@]}" 2> "$out/$run.log" || status=$?
fi
[[ $status == 0 || $status == 130 ]] || { tail -20 "$out/$run.log"; exit 1; }
tail -3 "$out/$run.log"
python3 - "$out/$run.log" "output/$run/stats.json" <<'PY'
import json, re, sys
log, stats = open(sys.argv[1]).read(), json.load(open(sys.argv[2]))
secs = float(re.search(r"; ([0-9.]+) s, \d+ pages, \d+ chunks", log)[1])
# Pages finished: the corpus's pages in the proportion of its chunks that were committed.
done, chunks = stats["chunks_done"], stats["chunks"]
pages = stats["pages"] * done / chunks
print(f"| pages done | chunks done / known | seconds | pages/min | chunks/min | examples | generated tokens |")
print(f"|---|---|---|---|---|---|---|")
print(f"| {pages:.1f} | {done} / {chunks} | {secs:.1f} | {pages * 60 / secs:.1f} | {done * 60 / secs:.1f} | {stats['examples']} | {stats['generated_tokens']:,} |")
print()
print("| kind | generated | accepted | yield | rejections |")
print("|---|---|---|---|---|")
for kind, v in stats["variants"].items():
    reasons = ", ".join(f"{r} {n}" for r, n in stats["rejections_by_reason"][kind].items())
    y = "-" if v["yield"] is None else f"{v['yield']:.1%}"
    print(f"| {kind} | {v['generated']} | {v['accepted']} | {y} | {reasons} |")
PY

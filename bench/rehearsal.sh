#!/usr/bin/env bash
# Teacher:Rehearsal (issue 17's headline): synth generate on a random-weight model of a real shape, once as it is
# (its answers are noise: no end of turn, few parse) and once rehearsing (answers in a chat model's shape and lengths,
# forced while the model decodes each token), each stopped by SIGINT after SECONDS; then synth bench at the same
# parallelism. Prints, per run: instructions (accepted, and with their examples stored), requests and tokens per kind, generated tok/s, the ratio to the bench's
# end-to-end rate, instructions per hour and the hours 52,000 would take at that rate.
#   bash bench/rehearsal.sh MODEL
# Environment: PARALLEL (16) SECONDS_PER_RUN (240) COUNT (unset: stop by time) NPP/NTG (256/256, the bench row) RUNS ("plain rehearsal")
#   CONTEXT (4096 per sequence) SYNTH (default: the Release build, built first) OUT (/tmp/rehearsal); Teacher__* settings pass through (GPU: Teacher__GpuLayers=99).
# Run it in a foreground shell: a background shell's children ignore SIGINT, and the runs would not stop.
set -euo pipefail
model=${1:?usage: rehearsal.sh MODEL}
parallel=${PARALLEL:-16}; seconds=${SECONDS_PER_RUN:-240}; npp=${NPP:-256}; ntg=${NTG:-256}
[[ -n ${SYNTH:-} ]] || dotnet build -c Release "$(cd "$(dirname "$0")/.." && pwd)/src/SynthPipeline.Cli" -v q >/dev/null # throughput needs the optimised build (Debug disables the JIT's optimisations)
synth=${SYNTH:-dotnet $(cd "$(dirname "$0")/.." && pwd)/src/SynthPipeline.Cli/bin/Release/net10.0/synth.dll}
out=${OUT:-/tmp/rehearsal}; mkdir -p "$out"
here=$(cd "$(dirname "$0")" && pwd)
for run in ${RUNS:-plain rehearsal}; do
  rm -rf "$out/output/$run"
  rehearse=false; [[ $run == rehearsal ]] && rehearse=true
  # COUNT runs to that many instructions (ramp-up and tail included); otherwise SIGINT stops the run after SECONDS.
  limit=(timeout -s INT "$seconds"); target=1000000
  [[ -n ${COUNT:-} ]] && limit=() && target=$COUNT
  (cd "$out" && "${limit[@]}" env Generate__DemoGrammars=off Teacher__Rehearsal=$rehearse Teacher__ParallelSequences="$parallel" \
    Teacher__ContextPerSequence=${CONTEXT:-4096} $synth generate -m "$model" --count "$target" --run-name "$run" >"$out/$run.log" 2>&1) || true
done
$synth bench -m "$model" --npp "$npp" --ntg "$ntg" --npl "$parallel" --json "$out/bench.json" >"$out/bench.log" 2>&1
python3 "$here/tools/summarize_rehearsal.py" "$out" ${RUNS:-plain rehearsal} | tee "$out/summary.md"

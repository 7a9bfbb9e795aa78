#!/usr/bin/env bash
# Issue 14's measure: on answers in the shapes of five teacher families (tests/SynthPipeline.Pipeline.Tests/Fixtures),
# per prompt kind, the yield (kept / generated), leaks (text a style added that reached a record; the bar is 0) and
# the reasons for drops. Runs the StyleYieldReport test with SYNTH_STYLE_REPORT set, and prints its table.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp)
SYNTH_STYLE_REPORT="$out" dotnet test tests/SynthPipeline.Pipeline.Tests --filter "FullyQualifiedName~StyleYieldReport" -v q -nologo >/dev/null
cat "$out"
rm -f "$out"

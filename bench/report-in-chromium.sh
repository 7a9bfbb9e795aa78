#!/usr/bin/env bash
# Loads the reports of a small `synth run` (demo model) in headless Chromium (Debian's package, installed when
# missing): each page must log no console message, draw its charts, and filter the sample table from ?q=.
# Screenshots go to bench/results/report-*.png; the figures are printed for bench/results/report-chromium.md.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; fi
work=$(mktemp -d)
dotnet build src/SynthPipeline.Cli -v q -nologo >/dev/null
synth="dotnet $PWD/src/SynthPipeline.Cli/bin/Debug/net10.0/synth.dll"
(cd "$work" && $synth run --run-name night --count 12 --train-steps 12 >/dev/null 2>&1)
# The ablation and two self-improvement rounds redraw the run's page with their sections.
(cd "$work" && $synth eval --run output/night --ablate >/dev/null 2>&1 && $synth loop --run output/night --rounds 2 --samples 2 >/dev/null 2>&1)
run="$work/output/night"
chrome() { timeout 120 chromium --headless --no-sandbox --disable-gpu "$@"; }
fail=0
for page in report.html generate/report.html augment/report.html train/report.html eval/report.html loop/report.html; do
  url="file://$run/$page"
  chrome --enable-logging=stderr --v=0 --dump-dom "$url" > "$work/dom.html" 2> "$work/log.txt"
  console=$(grep -c 'CONSOLE' "$work/log.txt" || true)
  svgs=$( (grep -o '<svg' "$work/dom.html" || true) | wc -l)
  rows=$( (grep -o "<tr class=\"\(accepted\|rejected\)\"" "$work/dom.html" || true) | wc -l)
  echo "$page: console messages $console, charts (svg) $svgs, sample rows $rows"
  [ "$console" -eq 0 ] || { grep CONSOLE "$work/log.txt"; fail=1; }
  tables=$(grep -c 'id="eval-table"' "$work/dom.html" || true)
  [ "$page" != eval/report.html ] || echo "  eval table present: $tables"
  [ "$svgs" -gt 0 ] || [ "$tables" -gt 0 ] || fail=1
done
chrome --dump-dom "file://$run/augment/report.html?q=not_grounded" > "$work/filtered.html" 2>/dev/null
shown=$(grep -o 'id="shown">[0-9]*' "$work/filtered.html" | grep -o '[0-9]*$')
hidden=$( (grep -o "style=\"display: none;\"" "$work/filtered.html" || true) | wc -l)
echo "augment/report.html?q=not_grounded: $shown rows shown, $hidden hidden"
[ "$hidden" -gt 0 ] && [ "$shown" -gt 0 ] || fail=1
for page in generate augment; do
  chrome --hide-scrollbars --window-size=1280,2400 --screenshot="bench/results/report-$page.png" "file://$run/$page/report.html" 2>/dev/null
done
chrome --hide-scrollbars --window-size=1280,3600 --screenshot="bench/results/report-run.png" "file://$run/report.html" 2>/dev/null
chrome --hide-scrollbars --window-size=1280,1400 --screenshot="bench/results/report-eval.png" "file://$run/eval/report.html" 2>/dev/null
echo "screenshots: bench/results/report-generate.png, report-augment.png, report-run.png, report-eval.png"
rm -rf "$work"
exit $fail

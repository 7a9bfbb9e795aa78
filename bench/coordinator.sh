#!/usr/bin/env bash
# The coordinator's own cost (issue 13's bar: >= 150 teacher requests/s through the whole `synth generate` graph on
# 2 cores, >= 2,000 requests in flight). The teacher is a loopback OpenAI-compatible server in its own process that
# answers at once with Self-Instruct-shaped text, streamed one SSE event per 4 characters (about one per token, as
# vLLM and llama-server stream), so CPU per request is the coordinator's alone.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build bench/CoordinatorBench -c Release -v q -nologo >/dev/null
bin=bench/CoordinatorBench/bin/Release/net10.0/CoordinatorBench.dll
echo "## whole graph, instant teacher"
dotnet "$bin" graph --count 4000 --in-flight 256 --max-concurrent 512 --seconds 120
echo "## router + OpenAI client + SSE alone (no graph), instant teacher"
dotnet "$bin" client --in-flight 256 --seconds 20
echo "## in flight: every answer held 5 s at the teacher"
dotnet "$bin" graph --count 1000000 --in-flight 4096 --max-concurrent 4096 --hold-ms 5000 --seconds 25

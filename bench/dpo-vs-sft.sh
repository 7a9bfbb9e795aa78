#!/usr/bin/env bash
# DPO training tokens/s against SFT on the same tokens (issue 16's bar: DPO >= 0.45x SFT).
# Same model, LoRA settings and sequences: SFT trains on the chosen and the rejected conversations as 2B separate
# conversations per step, DPO on B pairs per step, so each step pushes the same sequences through the policy; DPO adds
# the reference pass (the base with the adapter off, no gradient). Figures are trained tokens/s over steps 2..N.
# Usage: bench/dpo-vs-sft.sh [shape] [steps] [pairs-per-step]   (defaults: llama-3.2-1b 4 1; a GPU is used when TorchSharp sees one)
set -euo pipefail
cd "$(dirname "$0")/.."
shape=${1:-llama-3.2-1b}; steps=${2:-4}; batch=${3:-1}
work=${WORK:-/tmp/dpo-bench}; mkdir -p "$work"
# On the GPU machine: SYNTH="dotnet .device/app/SynthPipeline.Cli/synth.dll" VOCAB=/tmp/llama-cuda/models/ggml-vocab-llama-bpe.gguf
#   bash bench/gpu/cpu-llama-env.sh bash bench/dpo-vs-sft.sh llama-3.2-1b 20 4
if [[ -z ${SYNTH:-} ]]; then
  [[ -f src/SynthPipeline.Cli/bin/Debug/net10.0/synth.dll ]] || dotnet build src/SynthPipeline.Cli -v q
fi
synth=${SYNTH:-dotnet src/SynthPipeline.Cli/bin/Debug/net10.0/synth.dll}
vocab=${VOCAB:-$(ls .native/llama-*/src/models/ggml-vocab-llama-bpe.gguf | head -1)}
model=$work/$shape-q4_k_m.gguf
[[ -f $model ]] || $synth model create-random "$model" --shape "$shape" --type q4_k_m --vocab-from "$vocab"
python3 - "$work" <<'PY'
import json, sys, random
work = sys.argv[1]; rng = random.Random(5)
words = "river stone light garden window paper music winter orange bridge market lantern".split()
def text(n): return " ".join(rng.choice(words) for _ in range(n))
with open(f"{work}/pairs.jsonl", "w") as dpo, open(f"{work}/sft.jsonl", "w") as sft:
    for i in range(64):
        prompt, chosen, rejected = text(60), text(100), text(100)
        dpo.write(json.dumps({"prompt": prompt, "chosen": chosen, "rejected": rejected}) + "\n")
        for answer in (chosen, rejected):
            sft.write(json.dumps({"messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]}) + "\n")
PY
common=(-m "$model" --max-steps "$steps" --epochs 1 --seq 512 --warmup 1 --rank 16 --targets attn_q,attn_k,attn_v,attn_output --eval-fraction 0 --checkpoint-every 0)
rate() { python3 -c '
import re, sys
rows = [(int(m[1]), int(m[2]), float(m[3])) for m in re.finditer(r"step (\d+): .*?, (\d+) trained tokens, ([\d.]+) s", open(sys.argv[1]).read())]
tokens = sum(t for s, t, _ in rows[1:]); seconds = rows[-1][2] - rows[0][2]
print(f"{tokens / seconds:.1f} {seconds / (len(rows) - 1):.2f}")' "$1"; }
rm -rf "$work/sft-run" "$work/dpo-run"
$synth train "${common[@]}" --data "$work/sft.jsonl" --batch $((2 * batch)) --out "$work/sft-run" 2> "$work/sft.log"
$synth train "${common[@]}" --method dpo --data "$work/pairs.jsonl" --batch "$batch" --out "$work/dpo-run" 2> "$work/dpo.log"
read -r sft sft_step <<<"$(rate "$work/sft.log")"
read -r dpo dpo_step <<<"$(rate "$work/dpo.log")"
grep -m1 "training on" "$work/sft.log"
echo "SFT: $sft trained tokens/s ($sft_step s/step, $((2 * batch)) conversations/step)"
echo "DPO: $dpo trained tokens/s ($dpo_step s/step, $batch pairs/step)"
python3 -c "print(f'DPO/SFT = {$dpo / $sft:.2f}x (bar 0.45x)')"

#!/usr/bin/env bash
# On the GPU machine (see ../shared/device/README.md), after packing with
#   SynthCpuNative=false bash ../shared/device/pack.sh src/SynthPipeline.Cli/SynthPipeline.Cli.csproj
# run:  bash .device/gpu-env.sh bash bench/gpu/train-vs-peft.sh
# synth train (TorchSharp on CUDA, bf16) against PyTorch + PEFT on the same H100, from identical initial weights and
# batches: a random-weight Llama-3.2-1B shape, LoRA r=16 on q/k/v/o, sequences of 1024 tokens, dropout 0.
# Prints per-step losses of both, tokens/s and peak GPU memory; full logs in $OUT.
set -euo pipefail
synth="dotnet .device/app/SynthPipeline.Cli/synth.dll"
out=${OUT:-/tmp/train-vs-peft}; mkdir -p "$out"
steps=${STEPS:-100}
model=/tmp/llama-3.2-1b-q4_k_m.gguf
[[ -f $model ]] || $synth model create-random "$model" --shape llama-3.2-1b --type q4_k_m --vocab-from /tmp/llama-cuda/models/ggml-vocab-llama-bpe.gguf
[[ -f /tmp/hf-1b/config.json ]] || $synth model export-hf "$model" /tmp/hf-1b
# Long conversations so every micro-batch fills the 1024-token window.
python3 - "$out/data.jsonl" <<'PY'
import json, random, sys
rng = random.Random(1)
words = "the a of tide moon ocean pull water shore wave gravity earth orbit night day high low rise fall explain why how".split()
with open(sys.argv[1], "w") as f:
    for i in range(800):
        f.write(json.dumps({"instruction": " ".join(rng.choice(words) for _ in range(200)), "input": "",
                            "output": " ".join(rng.choice(words) for _ in range(900))}) + "\n")
PY
nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 > "$out/synth-gpu-memory.log" & smi=$!
/usr/bin/time -v $synth train -m "$model" --data "$out/data.jsonl" --out "$out/synth" --max-steps "$steps" --epochs 10 --seq 1024 \
  --batch 4 --accumulate 1 --rank 16 --alpha 32 --dropout 0 --targets attn_q,attn_k,attn_v,attn_output --lr 1e-4 --warmup 10 \
  --eval-fraction 0 --checkpoint-every 0 --export-reference 2>&1 | tee "$out/synth.log"
kill $smi
python3 bench/gpu/peft_reference.py /tmp/hf-1b "$out/synth" "$steps" 2>&1 | tee "$out/peft.log"
python3 - "$out" <<'PY'
import json, re, sys
out = sys.argv[1]
synth = {}
times = []
for line in open(f"{out}/synth.log"):
    m = re.match(r"step (\d+): loss ([0-9.]+).*?, (\d+) trained tokens, ([0-9.]+) s", line)
    if m:
        synth[int(m[1])] = float(m[2]); times.append((int(m[1]), int(m[3]), float(m[4])))
peft = {}; summary = {}
for line in open(f"{out}/peft.log"):
    if line.startswith("{"):
        r = json.loads(line)
        if r.get("summary"): summary = r
        else: peft[r["step"]] = r["loss"]
steps = sorted(set(synth) & set(peft))
worst = max(abs(synth[s] - peft[s]) / peft[s] for s in steps)
(s1, _, t1), (sn, _, tn) = times[0], times[-1]
trained = sum(tok for s, tok, _ in times[1:])
synth_rate = trained / (tn - t1)
synth_mem = max(int(x) for x in open(f"{out}/synth-gpu-memory.log").read().split()) / 1024
print(f"| steps | max relative loss difference | synth trained tok/s | PEFT trained tok/s | ratio | synth peak GPU GiB (nvidia-smi) | PEFT peak GiB (allocated) |")
print(f"| {len(steps)} | {worst:.4f} | {synth_rate:,.0f} | {summary['trained_tokens_per_s']:,.0f} | {synth_rate / summary['trained_tokens_per_s']:.2f} | {synth_mem:.1f} | {summary['peak_gpu_memory_gib']:.1f} |")
PY

#!/usr/bin/env python3
"""PyTorch + PEFT reference for `synth train`, from identical initial weights and identical batches.

Inputs, all written by SynthPipeline:
  HF_DIR     `synth model export-hf MODEL.gguf HF_DIR` (config.json + float32 model.safetensors)
  RUN_DIR    `synth train ... --export-reference --dropout 0` (peft-initial/ = the untrained adapter, schedule.jsonl =
             every step's padded token ids, loss masks and learning rate)
It runs the same steps: bf16 base, float32 LoRA, masked next-token cross-entropy, AdamW (betas 0.9/0.999, eps 1e-8,
no weight decay), gradient clipping at 1.0, the dumped learning rate per step. Prints one JSON line per step and a
summary with tokens/s (trained tokens and processed tokens) and peak GPU memory.
Usage: peft_reference.py HF_DIR RUN_DIR [STEPS]
"""
import json, sys, time
import torch
from transformers import AutoModelForCausalLM
from peft import PeftModel

def main():
    hf_dir, run_dir = sys.argv[1], sys.argv[2]
    max_steps = int(sys.argv[3]) if len(sys.argv) > 3 else 10**9
    device = "cuda"
    base = AutoModelForCausalLM.from_pretrained(hf_dir, torch_dtype=torch.bfloat16).to(device)
    model = PeftModel.from_pretrained(base, f"{run_dir}/peft-initial", is_trainable=True)
    for name, p in model.named_parameters():
        if "lora_" in name:
            p.data = p.data.float()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    steps = {}
    with open(f"{run_dir}/schedule.jsonl") as f:
        for line in f:
            r = json.loads(line)
            steps.setdefault(r["step"], []).append(r)
    torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter(); trained = processed = 0; timed_from = None
    for step in sorted(steps)[:max_steps]:
        micro = steps[step]
        total = 0.0
        for r in micro:
            ids = torch.tensor(r["ids"], device=device)
            mask = torch.tensor(r["mask"], device=device, dtype=torch.float32)
            logits = model(input_ids=ids).logits.float()
            logp = torch.log_softmax(logits[:, :-1], dim=-1)
            nll = -logp.gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
            w = mask[:, 1:]
            loss = (nll * w).sum() / w.sum().clamp_min(1)
            (loss / len(micro)).backward()
            total += loss.item()
            trained += int(w.sum().item()); processed += ids.numel()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        for g in optimizer.param_groups:
            g["lr"] = micro[0]["lr"]
        optimizer.step(); optimizer.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        if step == 0:
            # The first step includes CUDA/kernel warm-up; time from the second on.
            timed_from = (time.perf_counter(), trained, processed)
        print(json.dumps({"step": step + 1, "loss": total / len(micro)}), flush=True)
    t0, tr0, pr0 = timed_from
    elapsed = time.perf_counter() - t0
    print(json.dumps({"summary": True, "trained_tokens_per_s": (trained - tr0) / elapsed, "processed_tokens_per_s": (processed - pr0) / elapsed,
                      "peak_gpu_memory_gib": torch.cuda.max_memory_allocated() / 2**30}), flush=True)

if __name__ == "__main__":
    main()

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
import json, math, struct, sys, time
import torch

try:
    from transformers import AutoModelForCausalLM
    from peft import PeftModel
    HAVE_PEFT = True
except ImportError as e:  # the GPU machine may have PyTorch only: fall back to the same math written in plain PyTorch
    print(f"transformers/peft not importable ({e}); using the plain-PyTorch Llama + LoRA fallback", file=sys.stderr)
    HAVE_PEFT = False

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}

def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = bytearray(f.read())
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        out[name] = torch.frombuffer(data[a:b], dtype=DTYPES[t["dtype"]]).reshape(t["shape"]).clone() if b > a else torch.zeros(t["shape"])
    return out

class PlainLlamaLora(torch.nn.Module):
    """HF Llama semantics (rotate-half RoPE, llama3 rope scaling, GQA, SwiGLU, RMSNorm) with PEFT-style LoRA on the
    adapter's target modules: y = W x + (alpha / r) * B(A(x))."""
    def __init__(self, hf_dir, adapter_dir, device):
        super().__init__()
        c = json.load(open(f"{hf_dir}/config.json"))
        self.c = c
        w = read_safetensors(f"{hf_dir}/model.safetensors")
        self.w = {k: v.to(device=device, dtype=torch.bfloat16) for k, v in w.items()}
        if "lm_head.weight" not in self.w:
            self.w["lm_head.weight"] = self.w["model.embed_tokens.weight"]
        ac = json.load(open(f"{adapter_dir}/adapter_config.json"))
        self.scale = ac["lora_alpha"] / ac["r"]
        self.lora = torch.nn.ParameterDict()
        for k, v in read_safetensors(f"{adapter_dir}/adapter_model.safetensors").items():
            self.lora[k.replace(".", "__")] = torch.nn.Parameter(v.to(device=device, dtype=torch.float32))
        heads, kv = c["num_attention_heads"], c["num_key_value_heads"]
        hd = c["hidden_size"] // heads
        inv = 1.0 / (c.get("rope_theta", 10000.0) ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
        rs = c.get("rope_scaling")
        if rs and rs.get("rope_type") == "llama3":
            factor, low, high, old = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"], rs["original_max_position_embeddings"]
            wl = 2 * math.pi / inv
            smooth = ((old / wl) - low) / (high - low)
            scaled = torch.where(wl > old / low, inv / factor, inv)
            mid = (wl <= old / low) & (wl >= old / high)
            inv = torch.where(mid, (1 - smooth) * inv / factor + smooth * inv, scaled)
        self.inv = inv.float().to(device)
        self.heads, self.kv, self.hd = heads, kv, hd

    def proj(self, x, layer, module, weight):
        y = x @ self.w[weight].t()
        if weight.replace(".weight", ".bias") in self.w:
            y = y + self.w[weight.replace(".weight", ".bias")]
        key = f"base_model__model__model__layers__{layer}__{module}"
        if key + "__lora_A__weight" in self.lora:
            a, b = self.lora[key + "__lora_A__weight"], self.lora[key + "__lora_B__weight"]
            y = y + ((x.float() @ a.t()) @ b.t() * self.scale).to(y.dtype)
        return y

    def norm(self, x, weight):
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.c["rms_norm_eps"])).to(x.dtype) * self.w[weight]

    def forward(self, ids):
        B, T = ids.shape
        x = self.w["model.embed_tokens.weight"][ids]
        pos = torch.arange(T, device=ids.device).float()
        ang = torch.outer(pos, self.inv)
        cos, sin = torch.cat([ang.cos()] * 2, -1).to(x.dtype), torch.cat([ang.sin()] * 2, -1).to(x.dtype)
        def rope(t):
            h = t.shape[-1] // 2
            return t * cos + torch.cat([-t[..., h:], t[..., :h]], -1) * sin
        for i in range(self.c["num_hidden_layers"]):
            p = f"model.layers.{i}."
            h = self.norm(x, p + "input_layernorm.weight")
            q = self.proj(h, i, "self_attn.q_proj", p + "self_attn.q_proj.weight").view(B, T, self.heads, self.hd).transpose(1, 2)
            k = self.proj(h, i, "self_attn.k_proj", p + "self_attn.k_proj.weight").view(B, T, self.kv, self.hd).transpose(1, 2)
            v = self.proj(h, i, "self_attn.v_proj", p + "self_attn.v_proj.weight").view(B, T, self.kv, self.hd).transpose(1, 2)
            a = torch.nn.functional.scaled_dot_product_attention(rope(q), rope(k), v, is_causal=True, enable_gqa=True)
            x = x + self.proj(a.transpose(1, 2).reshape(B, T, -1), i, "self_attn.o_proj", p + "self_attn.o_proj.weight")
            h = self.norm(x, p + "post_attention_layernorm.weight")
            g = self.proj(h, i, "mlp.gate_proj", p + "mlp.gate_proj.weight")
            u = self.proj(h, i, "mlp.up_proj", p + "mlp.up_proj.weight")
            x = x + self.proj(torch.nn.functional.silu(g) * u, i, "mlp.down_proj", p + "mlp.down_proj.weight")
        return self.norm(x, "model.norm.weight") @ self.w["lm_head.weight"].t()

def main():
    hf_dir, run_dir = sys.argv[1], sys.argv[2]
    max_steps = int(sys.argv[3]) if len(sys.argv) > 3 else 10**9
    device = "cuda"
    if HAVE_PEFT:
        base = AutoModelForCausalLM.from_pretrained(hf_dir, torch_dtype=torch.bfloat16).to(device)
        model = PeftModel.from_pretrained(base, f"{run_dir}/peft-initial", is_trainable=True)
        for name, p in model.named_parameters():
            if "lora_" in name:
                p.data = p.data.float()
        forward = lambda ids: model(input_ids=ids).logits
    else:
        model = PlainLlamaLora(hf_dir, f"{run_dir}/peft-initial", device)
        forward = model
    print(json.dumps({"implementation": "transformers+peft" if HAVE_PEFT else "plain-pytorch"}), flush=True)
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
            logits = forward(ids).float()
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

#!/usr/bin/env python3
"""Summarise bench/sampling-overlap.sh: best S_TG of each configuration per B, ratios to llama-batched-bench, and
where the engine's step time went (decode / sampling / text) in the best run."""
import glob, json, os, sys

def main(out):
    best = {}
    for path in glob.glob(f"{out}/synth-*.json"):
        name = os.path.basename(path)[len("synth-"):].rsplit("-", 1)[0]
        for r in json.load(open(path)):
            key = (name, r["b"])
            if key not in best or r["speed_tg"] > best[key]["speed_tg"]:
                best[key] = r
    batched = {}
    for path in glob.glob(f"{out}/batched-bench-*.jsonl"):
        for line in open(path):
            if line.startswith("{"):
                r = json.loads(line)
                batched[r["pl"]] = max(batched.get(r["pl"], 0), r["speed_tg"])
    names = ["whole", "top", "top+overlap"]
    levels = sorted({b for (_, b) in best})
    print("| B | batched-bench S_TG | " + " | ".join(f"synth S_TG {n} | ratio" for n in names) + " | sampling µs per token (whole / top) | sampling share of step time (whole / top) |")
    print("|---|---|" + "---|---|" * len(names) + "---|---|")
    for b in levels:
        bb = batched.get(b)
        cells = []
        for n in names:
            s = best.get((n, b), {}).get("speed_tg")
            cells.append(f"{s:,.1f} | {s / bb:.2f}" if s and bb else (f"{s:,.1f} | -" if s else "- | -"))
        def share(n):
            r = best.get((n, b))
            if not r: return "-"
            total = r["t_decode"] + r["t_sampling"] + r["t_text"]
            return f"{r['t_sampling'] / total:.1%}" if total else "-"
        def per_token(n):
            r = best.get((n, b))
            return f"{r['t_sampling'] * 1e6 / (r['b'] * r['tg']):.0f}" if r else "-"
        bbs = f"{bb:,.1f}" if bb else "-"
        # A run of fewer configurations (CONFIGS) may leave "top" out: the overlapped run samples the same way.
        top = "top" if ("top", b) in best else "top+overlap"
        print(f"| {b} | {bbs} | " + " | ".join(cells) + f" | {per_token('whole')} / {per_token(top)} | {share('whole')} / {share(top)} |")

if __name__ == "__main__":
    main(sys.argv[1])

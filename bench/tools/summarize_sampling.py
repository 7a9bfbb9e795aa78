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
    # The configurations that ran (CONFIGS), in this order.
    names = [n for n in ["whole", "top", "top+overlap", "topk-in-graph"] if any(k[0] == n for k in best)]
    levels = sorted({b for (_, b) in best})
    print("| B | batched-bench S_TG | " + " | ".join(f"synth S_TG {n} | ratio" for n in names) + f" | sampling µs per token ({' / '.join(names)}) | sampling share of step time ({' / '.join(names)}) |")
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
        print(f"| {b} | {bbs} | " + " | ".join(cells) + f" | {' / '.join(per_token(n) for n in names)} | {' / '.join(share(n) for n in names)} |")

if __name__ == "__main__":
    main(sys.argv[1])

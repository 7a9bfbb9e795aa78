#!/usr/bin/env python3
"""Join synth bench, llama-batched-bench and llama-server results into one table with ratios."""
import json, sys, collections

def load_jsonl(path):
    rows = []
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    rows.append(json.loads(line))
    except FileNotFoundError:
        pass
    return rows

def main(out):
    synth = {}
    for path, label in ((f"{out}/synth-graph.json", "graph"), (f"{out}/synth-cpu.json", "cpu")):
        try:
            for r in json.load(open(path)):
                synth[(label, r["b"])] = r
        except FileNotFoundError:
            pass
    batched = {r["pl"]: r for r in load_jsonl(f"{out}/batched-bench.jsonl")}
    server = collections.defaultdict(dict)
    for r in load_jsonl(f"{out}/server.jsonl"):
        server[r["clients"]]["backend" if r["backend_sampling"] else "cpu"] = r
    levels = sorted({b for (_, b) in synth} | set(batched))
    print("| B | batched-bench S_TG | synth S_TG graph | ratio | synth S_TG cpu | ratio | synth e2e gen t/s (best) | llama-server gen t/s (cpu / backend) | synth / server |")
    print("|---|---|---|---|---|---|---|---|---|")
    for b in levels:
        bb = batched.get(b, {}).get("speed_tg")
        g = synth.get(("graph", b), {})
        c = synth.get(("cpu", b), {})
        def ratio(x):
            return f"{x / bb:.2f}" if x and bb else "-"
        def fmt(x):
            return f"{x:,.1f}" if x else "-"
        e2e = max([r.get("speed_gen_e2e", 0) for r in (g, c)] or [0])
        srv = server.get(b, {})
        s_cpu = srv.get("cpu", {}).get("generated_per_s")
        s_be = srv.get("backend", {}).get("generated_per_s")
        best_srv = max([x for x in (s_cpu, s_be) if x] or [0])
        print(f"| {b} | {fmt(bb)} | {fmt(g.get('speed_tg'))} | {ratio(g.get('speed_tg'))} | {fmt(c.get('speed_tg'))} | {ratio(c.get('speed_tg'))} "
              f"| {fmt(e2e)} | {fmt(s_cpu)} / {fmt(s_be)} | {f'{e2e / best_srv:.2f}' if best_srv and e2e else '-'} |")

if __name__ == "__main__":
    main(sys.argv[1])

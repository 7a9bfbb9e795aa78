#!/usr/bin/env python3
"""Drive a running llama-server with N concurrent clients, the way a user of peer tools would.

Each client sends one /completion request with P random prompt tokens and asks for G tokens
(ignore_eos, top-k 40, top-p 0.95, temperature 0.8, min-p 0, seeded per client). Prints one JSON
line: aggregate generated tokens per second over the wall time from the first send to the last reply.
Standard library only, so it runs on the GPU machine as is.
"""
import argparse, json, random, threading, time, urllib.request

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--clients", type=int, required=True)
    ap.add_argument("--npp", type=int, required=True)
    ap.add_argument("--ntg", type=int, required=True)
    ap.add_argument("--vocab", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--backend-sampling", action="store_true")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    prompts = [[rng.randrange(a.vocab) for _ in range(a.npp)] for _ in range(a.clients)]
    results = [None] * a.clients

    def run(i):
        body = {"prompt": prompts[i], "n_predict": a.ntg, "ignore_eos": True, "temperature": 0.8, "top_p": 0.95,
                "top_k": 40, "min_p": 0.0, "seed": a.seed + i, "cache_prompt": False, "stream": False}
        if a.backend_sampling:
            body["backend_sampling"] = True
        req = urllib.request.Request(f"http://127.0.0.1:{a.port}/completion", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=3600) as r:
            results[i] = json.loads(r.read())

    threads = [threading.Thread(target=run, args=(i,)) for i in range(a.clients)]
    start = time.perf_counter()
    for t in threads: t.start()
    for t in threads: t.join()
    wall = time.perf_counter() - start
    generated = sum(r["tokens_predicted"] for r in results if r)
    print(json.dumps({"clients": a.clients, "npp": a.npp, "ntg": a.ntg, "wall_s": wall, "generated": generated,
                      "generated_per_s": generated / wall, "backend_sampling": a.backend_sampling}))

if __name__ == "__main__":
    main()

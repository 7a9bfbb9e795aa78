#!/usr/bin/env python3
"""Summarise bench/rehearsal.sh: per run, what the teacher was asked (requests, prompt and output tokens by kind, from
the run's state.db), the engine's totals (from its log), and the rates against synth bench's end-to-end row. Rates per
instruction count the instructions whose examples are stored, as a dataset of "52K instructions with instances" does."""
import json, re, sqlite3, sys

def main(out, runs):
    bench = json.load(open(f"{out}/bench.json"))[0]
    e2e = bench["speed_gen_e2e"]
    print(f"synth bench B={bench['b']} PP {bench['pp']} TG {bench['tg']}: S_TG {bench['speed_tg']:,.1f} t/s, end to end {e2e:,.1f} generated t/s\n")
    print("| run | instructions accepted / with examples | seconds | generated t/s | / bench e2e | instructions per hour | 52K would take | generated tokens per instruction | prompt tokens computed per instruction |")
    print("|---|---|---|---|---|---|---|---|---|")
    kinds = {}
    for run in runs:
        log = open(f"{out}/{run}.log").read()
        m = re.search(r"engine: (\d+) prompt tokens computed, (\d+) reused from shared prefixes, (\d+) generated .*?; ([0-9.]+) s", log)
        n = re.search(r": (\d+) instructions, (\d+) examples", log)
        if not m or not n:
            print(f"| {run} | (no summary in {out}/{run}.log) | | | | | | | |")
            continue
        prompt, reused, generated, secs = int(m[1]), int(m[2]), int(m[3]), float(m[4])
        db = sqlite3.connect(f"{out}/output/{run}/state.db")
        accepted = int(n[1])
        # An instruction counts once its examples are stored: the unit of an Alpaca-scale dataset.
        acc = db.execute("select count(distinct instruction_id) from instances").fetchone()[0]
        rate = generated / secs if secs else 0
        per_hour = acc * 3600 / secs if secs else 0
        hours = f"{52000 / per_hour:,.1f} h" if per_hour else "never"
        per = lambda x: f"{x / acc:,.0f}" if acc else "-"
        print(f"| {run} | {accepted} / {acc} | {secs:.0f} | {rate:,.1f} | {rate / e2e:.2f} | {per_hour:,.0f} | {hours} | {per(generated)} | {per(prompt)} |")
        kinds[run] = db.execute("select r.kind, count(*), avg(u.input_tokens), avg(u.cached_tokens), avg(r.output_tokens), "
                                "sum(r.truncated) from requests r left join request_usage u on u.id = r.id group by r.kind order by r.kind").fetchall()
    print("\n| run | request kind | requests | mean prompt tokens | of them reused | mean output tokens | cut by the token limit |")
    print("|---|---|---|---|---|---|---|")
    for run, rows in kinds.items():
        for kind, count, prompt, cached, output, truncated in rows:
            print(f"| {run} | {kind} | {count} | {prompt or 0:,.0f} | {cached or 0:,.0f} | {output or 0:,.0f} | {truncated or 0} |")

if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])

#!/usr/bin/python3
"""Tables for bench/run-mpi.sh's log: best wall time of the repeats, each rank's peak memory,
and the 2-rank / 1-rank ratios against the targets: issue 4's (time <= 0.6, memory per rank
<= 0.65) and issue 8's (1.85 x faster, i.e. time <= 0.54; memory per rank <= 0.55).

    summarize_mpi.py LOG > TABLES.md"""
import sys
from collections import defaultdict

TIME_TARGET, MEM_TARGET = 0.60, 0.65
SPEEDUP_TARGET, MEM_TARGET_8 = 1.85, 0.55


def main():
    rows = []
    for line in open(sys.argv[1]):
        if line.startswith("RESULT "):
            rows.append(dict(kv.split("=", 1) for kv in line.split()[1:]))
    wall = defaultdict(list)       # (layout, cmd, np) -> [wall]
    job = defaultdict(list)        # (layout, cmd, np) -> [job seconds, from the manifest]
    rank_el = defaultdict(list)    # (layout, cmd, np) -> [max rank elapsed per rep]
    rss = defaultdict(lambda: defaultdict(int))  # (layout, cmd, np) -> rank -> max KiB
    loads = []
    per_rep = defaultdict(float)
    for r in rows:
        if "layout" not in r or "cmd" not in r:
            continue
        key = (r["layout"], r["cmd"], int(r["np"]))
        if "wall" in r:
            wall[key].append(float(r["wall"]))
            loads.append(float(r["load1"]))
        elif "job" in r:
            job[key].append(float(r["job"]))
        else:
            rk = int(r["rank"])
            rss[key][rk] = max(rss[key][rk], int(r["maxrss_kb"]))
            per_rep[key + (r["rep"],)] = max(per_rep[key + (r["rep"],)], float(r["elapsed"]))
    for k, v in per_rep.items():
        rank_el[k[:3]].append(v)
    out = []
    for layout in ("fixed", "fixed-rerank", "per-rank", "clustered-fixed"):
        if (layout, "build", 1) not in wall:
            continue
        title = {"clustered-fixed": "clustered 1,000,000 x 128, fixed (2 shards)",
                 "fixed-rerank": "fixed (2 shards), query.rerank = 30"}.get(layout, layout)
        out.append(f"### layout: {title}\n")
        out.append("| command | ranks | wall s (best of {}) | job s | slowest rank s | peak RSS per "
                   "rank (MiB) | wall 2/1 (target <= 0.60) | job 2/1 | peak RSS 2/1, worst rank "
                   "(target <= 0.65) | 1/2 job speedup (issue 8: >= 1.85) | peak RSS 2/1 (issue 8: "
                   "<= 0.55) |".format(len(wall.get((layout, "build", 1), []))))
        out.append("|---|---|---|---|---|---|---|---|---|---|---|")
        for cmd in ("build", "query", "run"):
            base = (layout, cmd, 1)
            if base not in wall:
                continue
            for np_ in (1, 2):
                key = (layout, cmd, np_)
                if key not in wall:
                    continue
                w = min(wall[key])
                el = min(rank_el[key])
                mem = ", ".join(f"{rss[key][rk] / 1024:.0f}" for rk in sorted(rss[key]))
                j = min(job[key]) if job.get(key) else float("nan")
                if np_ == 1:
                    tr = jr = mr = sp = m8 = ""
                else:
                    t = w / min(wall[base])
                    jt = j / min(job[base]) if job.get(base) else float("nan")
                    m = max(rss[key].values()) / max(rss[base].values())
                    tr = f"{t:.2f} ({'met' if t <= TIME_TARGET else 'NOT met'})"
                    jr = f"{jt:.2f} ({'met' if jt <= TIME_TARGET else 'NOT met'})"
                    mr = f"{m:.2f} ({'met' if m <= MEM_TARGET else 'NOT met'})"
                    sp = f"{1 / jt:.2f} ({'met' if 1 / jt >= SPEEDUP_TARGET else 'NOT met'})"
                    m8 = f"{m:.2f} ({'met' if m <= MEM_TARGET_8 else 'NOT met'})"
                out.append(f"| {cmd} | {np_} | {w:.2f} | {j:.2f} | {el:.2f} | {mem} | {tr} | {jr} "
                           f"| {mr} | {sp} | {m8} |")
        out.append("")
    for r in rows:
        if r.get("check") == "identical":
            data = "clustered" if r.get("data") == "clustered" else "Fashion-MNIST"
            out.append(f"- {data}, fixed layout, {r['file']} identical at 1 and 2 ranks: "
                       f"{'yes' if r['same'] == '1' else 'NO'}")
        if r.get("check") == "recall":
            out.append(f"- recall@10 vs annforest exact, {r['layout']} layout, {r['np']} rank(s): "
                       f"{r['recall']}")
    if loads:
        out.append(f"- 1-minute load average before each run: {min(loads):.2f} .. {max(loads):.2f}")
    print("\n".join(out))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Turn the RESULT lines of bench/run-core.sh's log into the Markdown tables of RESULTS.md.

    summarize.py LOG > TABLES.md

QPS at a target recall: the sweep points in search_k order, the first one reaching the target
and the one before it, interpolated linearly in recall on log(QPS). A target already met by
the smallest search_k takes that point's QPS (marked '>='); one never reached is 'n/a'."""
import math
import sys
from collections import defaultdict

TARGETS = (0.90, 0.99)


def tool_of(r):
    """The tool, with its variant when it has one (core+rerank30: annforest's core searching with
    rerank 30)."""
    return r["tool"] + (f"+{r['variant']}" if r.get("variant") else "")


def is_ours(tool):
    return tool.split("+")[0] == "core"


def parse(path):
    rows = []
    for line in open(path):
        if line.startswith("RESULT "):
            rows.append(dict(kv.split("=", 1) for kv in line.split()[1:]))
    return rows


def qps_at(points, target):
    """points: [(search_k, recall, qps)] -> (qps, note)."""
    points = sorted(points)
    for i, (_, recall, qps) in enumerate(points):
        if recall >= target:
            if i == 0:
                return qps, ">="
            _, r0, q0 = points[i - 1]
            f = (target - r0) / (recall - r0)
            return math.exp(math.log(q0) + f * (math.log(qps) - math.log(q0))), ""
    return None, "n/a"


def fmt_ratio(a, b, higher_is_better=True):
    if a is None or b is None:
        return "n/a"
    return f"{a / b:.2f}"


def main():
    rows = parse(sys.argv[1])
    datasets = sorted({r["data"] for r in rows if "data" in r}, reverse=False)
    out = []
    for ds in datasets:
        rs = [r for r in rows if r.get("data") == ds]
        out.append(f"### {ds}\n")
        # Build times.
        builds = {(r["tool"], int(r["threads"])): r for r in rs
                  if r["phase"] == "build" and not r.get("variant")}
        tools = sorted({t for t, _ in builds}, key=lambda t: (t != "core", t))
        out.append("| build, 50 trees | threads | add items (s) | trees (s) | total (s) | "
                   "core / this (total) |")
        out.append("|---|---|---|---|---|---|")
        for tool in tools:
            for th in sorted({t for tl, t in builds if tl == tool}):
                b = builds[(tool, th)]
                core = builds.get(("core", th))
                ratio = fmt_ratio(float(core["seconds"]), float(b["seconds"])) if core else "n/a"
                out.append(f"| {tool} | {th} | {float(b['add_seconds']):.2f} | "
                           f"{float(b['tree_seconds']):.2f} | {float(b['seconds']):.2f} | "
                           f"{ratio} |")
        det = [r for r in rs if r["phase"] == "determinism" and not r.get("variant")]
        for r in det:
            out.append(f"\ncore index bytes identical for 1 and {r['threads']} build threads: "
                       f"{'yes' if r['same_bytes'] == '1' else 'NO'}")
        # Query sweep.
        sweeps = defaultdict(list)
        for r in rs:
            if r["phase"] == "query":
                sweeps[tool_of(r)].append((int(r["search_k"]), float(r["recall"]),
                                           float(r["qps"])))
        nq = next((r["queries"] for r in rs if r["phase"] == "query"), "?")
        out.append(f"\nQuery sweep: first {nq} test queries, one at a time, one thread, k = 10, "
                   "QPS best of 3 passes.\n")
        sk = sorted({p[0] for pts in sweeps.values() for p in pts})
        stools = sorted(sweeps, key=lambda t: (not is_ours(t), t))
        pairs = [(a, b) for a in stools if is_ours(a) for b in stools if not is_ours(b)]
        out.append("| search_k | " + " | ".join(f"{t} recall | {t} QPS" for t in stools) + " |")
        out.append("|---|" + "---|---|" * len(stools))
        for k in sk:
            cells = []
            for t in stools:
                p = next((p for p in sweeps[t] if p[0] == k), None)
                cells += [f"{p[1]:.4f}", f"{p[2]:.0f}"] if p else ["", ""]
            out.append(f"| {k} | " + " | ".join(cells) + " |")
        out.append("\n| QPS at recall@10 | " + " | ".join(stools) + " | " +
                   " | ".join(f"{a} / {b}" for a, b in pairs) + " |")
        out.append("|---|" + "---|" * (len(stools) + len(pairs)))
        for target in TARGETS:
            vals = {t: qps_at(sweeps[t], target) for t in stools}
            cells = [f"{n}{v:.0f}" if v else n for v, n in (vals[t] for t in stools)]
            ratios = [fmt_ratio(vals[a][0], vals[b][0]) for a, b in pairs]
            out.append(f"| {target:.2f} | " + " | ".join(cells + ratios) + " |")
        batch = [r for r in rs if r["phase"] == "batch" and not r.get("variant")]
        for r in batch:
            one = next((p[2] for p in sweeps["core"] if p[0] == int(r["search_k"])), None)
            vs = f" vs {one:.0f} one at a time" if one else ""
            out.append(f"\ncore, search_k {r['search_k']}: {float(r['qps']):.0f} QPS when the "
                       f"same queries go in one af_searcher_run call (one thread){vs}.")
        # Exact.
        ex = {(r["tool"], r.get("variant", ""), int(r["threads"])): r for r in rs
              if r["phase"] == "exact"}
        if ex:
            out.append("\n| exact k-NN (all queries, k = 10) | threads | seconds | QPS | "
                       "this / FAISS (QPS) |")
            out.append("|---|---|---|---|---|")
            for (tool, var, th), r in sorted(ex.items(), key=lambda x: (x[0][2], x[0][0] != "core", x[0][1])):
                faiss = ex.get(("faiss", "", th))
                ratio = fmt_ratio(float(r["qps"]), float(faiss["qps"])) if faiss else "n/a"
                name = tool + (f" ({var})" if var else "")
                out.append(f"| {name} | {th} | {float(r['seconds']):.2f} | "
                           f"{float(r['qps']):.0f} | {ratio} |")
        loads = [float(r["load1"]) for r in rs if r["phase"] == "load"]
        if loads:
            out.append(f"\n1-minute load average before each step: {min(loads):.2f} .. "
                       f"{max(loads):.2f} (our own previous step included).")
        for r in rs:
            if r["phase"] == "ground_truth":
                out.append(f"\nGround truth check (core af_exact_knn vs FAISS, distances "
                           f"recomputed in float64): {r['distance_mismatch_queries']} of "
                           f"{r['queries']} queries disagree; identical id sets for "
                           f"{r['same_id_sets']} (the rest differ only among tied distances).")
                if "wrong_a" in r:
                    out.append(f"Where they disagree, the true 10th distance (float64 brute "
                               f"force) says core is wrong for {r['wrong_a']} and FAISS for "
                               f"{r['wrong_b']}: near ties that float32 resolves differently.")
        out.append("")
    print("\n".join(out))


if __name__ == "__main__":
    main()

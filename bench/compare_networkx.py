#!/usr/bin/python3
"""Compare sccello's PPR (networkx mode) with networkx.pagerank on the real CL releases.

For each release in data/ontology: import it into a fresh store, run
`sccello targets matrix --target ppr --all --raw --tsv --timing --no-cache` (all-pairs PPR, one
row per source), build the same graph independently from the file here (live CL terms with an
is_a edge, undirected), call networkx.pagerank(G, alpha=0.9, personalization={s: 1}) once per
source, and report the largest absolute difference, the number of level mismatches
(level = 1 if p < 1e-4 else floor(log2(p/1e-4 + 1))) and the time ratio.

Python and networkx are optional tools here, not build dependencies: scripts/install-bench-deps.sh
installs Debian's python3-networkx (2.8.8 on bookworm) and numpy. The shebang is Debian's
interpreter, so  bench/compare_networkx.py --sccello build/cli/sccello  uses them even where
another python3 comes first on PATH.
"""
import argparse
import gzip
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import networkx as nx
import numpy as np

ALPHA, THRESHOLD = 0.9, 1e-4
NPY_RUNS = 11


def median(sorted_values):
    return sorted_values[len(sorted_values) // 2]


def level(p):
    return 1 if p < THRESHOLD else math.floor(math.log2(p / THRESHOLD + 1))


def obo_edges(path):
    terms, cur = {}, None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("["):
                cur = {"stanza": line, "is_a": [], "obsolete": False}
                continue
            if cur is None:
                continue
            if line.startswith("id: ") and "id" not in cur:
                cur["id"] = line[4:].strip()
                if cur["stanza"] == "[Term]":
                    terms[cur["id"]] = cur
            elif line.startswith("is_a: "):
                cur["is_a"].append(line[6:].split("!")[0].split("{")[0].strip())
            elif line.strip() == "is_obsolete: true":
                cur["obsolete"] = True
    live = {t for t, v in terms.items() if t.startswith("CL:") and not v["obsolete"]}
    return [(t, p) for t in terms if t in live for p in terms[t]["is_a"] if p in live]


def json_edges(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        data = json.load(f)
    live = {t for t, v in data.items() if t.startswith("CL:") and not v.get("deprecated", False)}
    edges = []
    for t in data:
        if t not in live:
            continue
        for p, dist in (data[t].get("ancestors") or {}).items():
            if dist == 1 and p in live:
                edges.append((t, p))
    return edges


def run_sccello(exe, path):
    with tempfile.TemporaryDirectory() as tmp:
        store = os.path.join(tmp, "store")
        subprocess.run([exe, "--store", store, "ontology", "import", path], check=True, stdout=subprocess.DEVNULL)
        start = time.perf_counter()
        proc = subprocess.run([exe, "--store", store, "targets", "matrix", "--target", "ppr", "--all", "--raw",
                               "--tsv", "--timing", "--no-cache"], check=True, capture_output=True, text=True)
        wall = time.perf_counter() - start
        # The same matrix as NumPy .npy (what a user takes into Python): whole process, timed
        # NPY_RUNS times (min / median / max; the ratio uses the median).
        npy = os.path.join(tmp, "ppr.npy")
        npy_walls = []
        for _ in range(NPY_RUNS):
            start = time.perf_counter()
            subprocess.run([exe, "--store", store, "targets", "matrix", "--target", "ppr", "--all", "--raw", "--out",
                            npy], check=True, capture_output=True)
            npy_walls.append(time.perf_counter() - start)
        npy_wall = sorted(npy_walls)
        from_npy = np.load(npy)
        with open(npy[:-4] + ".terms.tsv") as f:
            npy_ids = [line.split("\t")[1] for line in f.read().splitlines()[1:]]
    lines = proc.stdout.split("\n")
    ids = lines[0].split("\t")[1:]
    values = np.array(" ".join(l.split("\t", 1)[1].replace("\t", " ") for l in lines[1:] if l).split(), dtype=float)
    total_ms = float(proc.stderr.split(" rows in ")[1].split(" ms")[0])
    kernel_ms = float(proc.stderr.split(" ms kernel")[0].rsplit(" ", 1)[1])
    matrix = values.reshape(len(ids), len(ids))
    assert npy_ids == ids and np.abs(from_npy - matrix).max() <= 1e-15, "the .npy differs from the TSV"
    return ids, matrix, kernel_ms / 1000.0, total_ms / 1000.0, wall, npy_wall


def compare(exe, path):
    edges = obo_edges(path) if path.endswith(".obo") else json_edges(path)
    # sccello's importer drops is_a edges from a term to itself (with a warning); so does this graph.
    loops = [(t, p) for t, p in edges if t == p]
    if loops:
        print(f"{os.path.basename(path)}: dropping {len(loops)} self-loop is_a edge(s) as the importer does: {loops[:3]}")
    G = nx.Graph()
    G.add_edges_from((t, p) for t, p in edges if t != p)
    ids, matrix, cpp_s, cpp_total, cpp_wall, npy_wall = run_sccello(exe, path)
    name = os.path.basename(path)
    if set(ids) != set(G.nodes):
        print(f"{name}: node sets differ: sccello {len(ids)}, networkx {len(G)}; "
              f"only sccello {sorted(set(ids) - set(G.nodes))[:5]}, only networkx {sorted(set(G.nodes) - set(ids))[:5]}")
        return False
    col = {t: j for j, t in enumerate(ids)}
    max_diff, mismatches, worst = 0.0, 0, None
    start = time.perf_counter()
    results = {s: nx.pagerank(G, alpha=ALPHA, personalization={s: 1}) for s in ids}
    nx_s = time.perf_counter() - start
    for i, s in enumerate(ids):
        row = matrix[i]
        for t, p in results[s].items():
            d = abs(p - row[col[t]])
            if d > max_diff:
                max_diff, worst = d, (s, t)
            if level(p) != level(row[col[t]]):
                mismatches += 1
    ok = max_diff <= 1e-9 and mismatches == 0
    print(f"{name}: {len(ids)} nodes, {G.number_of_edges()} edges; max |sccello - networkx| = {max_diff:.3g}"
          f" (at {worst}); level mismatches = {mismatches} of {len(ids) ** 2}; "
          f"networkx {nx_s:.2f} s for {len(ids)} sources; sccello all-pairs PPR {cpp_s * 1000:.1f} ms, "
          f"matrix {cpp_total * 1000:.1f} ms, whole process incl. store load and {len(ids) ** 2} values "
          f"as text {cpp_wall:.2f} s; speed-up PPR {nx_s / cpp_s:.0f}x, matrix {nx_s / cpp_total:.0f}x, "
          f"process {nx_s / cpp_wall:.1f}x; whole process to .npy, {len(npy_wall)} runs: min {npy_wall[0]:.3f} s, "
          f"median {median(npy_wall):.3f} s, max {npy_wall[-1]:.3f} s = {nx_s / median(npy_wall):.0f}x "
          f"(networkx / median; {nx_s / npy_wall[-1]:.0f}x against the slowest run) "
          f"-> {'OK' if ok else 'MISMATCH'}")
    return ok


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sccello", default=os.path.join(here, "..", "build", "cli", "sccello"))
    ap.add_argument("--data", default=os.path.join(here, "..", "data", "ontology"))
    ap.add_argument("files", nargs="*", help="release files (default: every .obo and .json.gz in --data)")
    args = ap.parse_args()
    files = args.files or sorted(os.path.join(args.data, f) for f in os.listdir(args.data)
                                 if f.endswith(".obo") or f.endswith(".json.gz"))
    print(f"networkx {nx.__version__} ({nx.__file__}), numpy {np.__version__}, python {sys.executable}")
    if nx.__version__ != "2.8.8":
        print("note: parity was established against networkx 2.8.8 (Debian's python3-networkx); "
              "run scripts/install-bench-deps.sh and use /usr/bin/python3")
    ok = all([compare(args.sccello, f) for f in files])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

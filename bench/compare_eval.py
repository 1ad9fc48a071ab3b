#!/usr/bin/env python3
"""Checks `sccello eval clustering` against the Python tools scib builds on.

Runs the CLI (--json --dump-dir) on an embedding, then recomputes with scikit-learn, leidenalg and
numpy from the same inputs and prints both sides:
  - NMI / ARI of the CLI's best clustering (sklearn, same assignment): |diff| < 1e-9
  - ASW_label (sklearn silhouette_score, euclidean): |diff| < 1e-6; ASW_batch and graph
    connectivity with scib's definitions on the same graph
  - best-resolution AvgBio with leidenalg (RBConfigurationVertexPartition on UMAP connectivities
    of an exact 15-NN graph, resolutions 0.1..2.0): |diff| < 0.02
  - PCA baseline (--counts): the same HVGs (scanpy flavor="seurat") and the variance ratio of each
    component equal numpy's SVD of the scaled HVG matrix: |diff| < 1e-4
Exit status 0 when every check passes, 1 otherwise, 77 when a Python package is missing.
Needs Debian's python3-sklearn python3-igraph python3-leidenalg python3-anndata python3-numpy.

  bench/compare_eval.py --cli build/cli/sccello --embeddings E.h5ad [--key K] [--obs OBS]
      --label-column C [--batch-column B] [--counts FILE.h5ad [--assume-normalized]]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

try:
    import anndata
    import igraph
    import leidenalg
    import numpy as np
    import scipy.sparse as sp
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, silhouette_samples, silhouette_score
    from sklearn.neighbors import NearestNeighbors
except ImportError as e:  # ctest: skipped
    print(f"compare_eval: skipped, missing Python package: {e}")
    sys.exit(77)

MISSING = {"", "?", "nan", "NaN", "NA", "None", "unknown"}


def read_embedding(path, key):
    if path.endswith(".h5ad"):
        a = anndata.read_h5ad(path)
        return list(a.obs_names), np.asarray(a.obsm[key or "X_sccello"], dtype=np.float64)
    ids, rows = [], []
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
        cols = [i for i, h in enumerate(header) if h.startswith("dim")]
        for line in f:
            parts = line.rstrip("\n").split("\t")
            ids.append(parts[0])
            rows.append([float(parts[i]) for i in cols])
    return ids, np.asarray(rows)


def read_column(path, column, ids):
    if path.endswith(".h5ad"):
        obs = anndata.read_h5ad(path, backed="r").obs
        values = dict(zip(obs.index, ["" if v != v else str(v) for v in obs[column]]))
    else:
        with open(path) as f:
            header = f.readline().rstrip("\n").split("\t")
            c = header.index(column)
            values = {p[0]: p[c] for p in (line.rstrip("\n").split("\t") for line in f)}
    return [values[i] for i in ids]


def umap_connectivities(dist, idx):
    """umap's fuzzy_simplicial_set on kNN lists whose first column is the cell itself."""
    n, k = dist.shape
    target = np.log2(k)
    mean_all = dist.mean()
    w = np.zeros_like(dist)
    for i in range(n):
        d = dist[i]
        nz = d[d > 0]
        rho = nz[0] if len(nz) else 0.0
        lo, hi, mid = 0.0, np.inf, 1.0
        for _ in range(64):
            psum = np.sum(np.where(d[1:] - rho > 0, np.exp(-(d[1:] - rho) / mid), 1.0))
            if abs(psum - target) < 1e-5:
                break
            if psum > target:
                hi = mid
                mid = (lo + hi) / 2
            else:
                lo = mid
                mid = mid * 2 if hi == np.inf else (lo + hi) / 2
        sigma = max(mid, 1e-3 * (d.mean() if rho > 0 else mean_all))
        w[i] = np.where(d - rho <= 0, 1.0, np.exp(-(d - rho) / sigma))
        w[i][idx[i] == i] = 0.0
    m = sp.csr_matrix((w.ravel(), (np.repeat(np.arange(n), k), idx.ravel())), shape=(n, n))
    return (m + m.T - m.multiply(m.T)).tocsr()


def leiden_best(conn, labels):
    src, dst = sp.triu(conn, k=1).nonzero()
    weights = np.asarray(conn[src, dst]).ravel()
    g = igraph.Graph(n=conn.shape[0], edges=list(zip(src.tolist(), dst.tolist())))
    best = (-1, None, None)
    for r in [x / 10 for x in range(1, 21)]:
        part = leidenalg.find_partition(g, leidenalg.RBConfigurationVertexPartition, weights=weights,
                                        resolution_parameter=r, n_iterations=-1, seed=0)
        nmi = normalized_mutual_info_score(labels, part.membership)
        if nmi > best[0]:
            best = (nmi, r, np.asarray(part.membership))
    return best


def asw_batch(x, labels, batches):
    means = []
    for lab in sorted(set(labels)):
        m = labels == lab
        nb = len(set(batches[m]))
        if nb == 1 or nb == m.sum():
            continue
        means.append(np.mean(1 - np.abs(silhouette_samples(x[m], batches[m]))))
    return float(np.mean(means))


def graph_conn(conn, labels):
    from scipy.sparse.csgraph import connected_components
    out = []
    for lab in sorted(set(labels)):
        m = np.where(labels == lab)[0]
        _, comp = connected_components(conn[m][:, m], connection="strong")
        out.append(np.bincount(comp).max() / len(m))
    return float(np.mean(out))


def python_scores(x, labels, batches):
    nn = NearestNeighbors(n_neighbors=15).fit(x)
    dist, idx = nn.kneighbors(x)
    conn = umap_connectivities(dist, idx)
    nmi, res, clusters = leiden_best(conn, labels)
    ari = adjusted_rand_score(labels, clusters)
    asw = (silhouette_score(x, labels) + 1) / 2
    out = {"nmi": nmi, "ari": ari, "asw_label": asw, "avg_bio": (nmi + ari + asw) / 3, "best_resolution": res}
    if batches is not None:
        out["asw_batch"] = asw_batch(x, labels, batches)
        out["graph_conn"] = graph_conn(conn, labels)
    return out


def hvg_seurat(log_x, n_top=2000, n_bins=20):
    import pandas as pd
    x = log_x.copy()
    x.data = np.expm1(x.data)
    n = x.shape[0]
    mean = np.asarray(x.mean(axis=0)).ravel()
    var = (np.asarray(x.multiply(x).mean(axis=0)).ravel() - mean ** 2) * n / (n - 1)
    mean[mean == 0] = 1e-12
    disp = var / mean
    disp[disp == 0] = np.nan
    disp = np.log(disp)
    mean = np.log1p(mean)
    df = pd.DataFrame({"means": mean, "dispersions": disp})
    df["mean_bin"] = pd.cut(df["means"], bins=n_bins)
    grouped = df.groupby("mean_bin")["dispersions"]
    bmean, bstd = grouped.mean(), grouped.std(ddof=1)
    one = bstd.isnull()
    bstd[one.values] = bmean[one.values].values
    bmean[one.values] = 0
    norm = (df["dispersions"].values - bmean[df["mean_bin"].values].values) / bstd[df["mean_bin"].values].values
    finite = np.sort(norm[~np.isnan(norm)])[::-1]
    cut = finite[min(n_top, len(finite)) - 1]
    return np.where(np.nan_to_num(norm) >= cut)[0]


def python_pca(counts, ids, assume_normalized, n_comps=50):
    a = anndata.read_h5ad(counts)
    m = a.raw.X if a.raw is not None else a.X
    genes = list(a.raw.var_names if a.raw is not None else a.var_names)
    pos = {c: i for i, c in enumerate(a.obs_names)}
    x = sp.csr_matrix(m)[[pos[i] for i in ids]].astype(np.float64)
    if not assume_normalized:
        totals = np.asarray(x.sum(axis=1)).ravel()
        x = sp.diags(1e4 / totals) @ x
        x.data = np.log1p(x.data)
    hvg = hvg_seurat(x)
    d = x[:, hvg].toarray()
    sd = d.std(axis=0, ddof=1)
    sd[sd == 0] = 1
    d = np.clip((d - d.mean(axis=0)) / sd, -10, 10)
    d -= d.mean(axis=0)
    s = np.linalg.svd(d, compute_uv=False)
    var = s ** 2
    return [genes[g] for g in hvg], (var / var.sum())[:n_comps]


def check(name, cpp, py, tol, failures):
    ok = abs(cpp - py) <= tol
    print(f"  {name:<18} sccello {cpp:.10f}  python {py:.10f}  |diff| {abs(cpp - py):.2e}  tol {tol:g}  {'ok' if ok else 'FAIL'}")
    if not ok:
        failures.append(name)


def run_cli(args, dump):
    cmd = [args.cli, "--json", "eval", "clustering", "--embeddings", args.embeddings, "--label-column", args.label_column,
           "--dump-dir", dump]
    for flag, v in (("--key", args.key), ("--obs", args.obs), ("--batch-column", args.batch_column)):
        if v:
            cmd += [flag, v]
    if args.counts:
        cmd += ["--baseline", "pca", "--counts", args.counts] + (["--assume-normalized"] if args.assume_normalized else [])
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def compare_side(name, cpp, x, dump_file, batches_on, failures):
    rows = [l.rstrip("\n").split("\t") for l in open(dump_file)][1:]
    labels = np.asarray([r[1] for r in rows])
    batches = np.asarray([r[2] for r in rows]) if batches_on else None
    clusters = np.asarray([int(r[3]) for r in rows])
    print(f"{name}: {len(rows)} cells")
    check("nmi (same clusters)", cpp["nmi"], normalized_mutual_info_score(labels, clusters), 1e-9, failures)
    check("ari (same clusters)", cpp["ari"], adjusted_rand_score(labels, clusters), 1e-9, failures)
    py = python_scores(x, labels, batches)
    check("asw_label", cpp["asw_label"], py["asw_label"], 1e-6, failures)
    print(f"  leidenalg best resolution {py['best_resolution']}, sccello {cpp['best_resolution']}")
    check("avg_bio (leiden)", cpp["avg_bio"], py["avg_bio"], 0.02, failures)
    if batches_on:
        check("asw_batch", cpp["asw_batch"], py["asw_batch"], 1e-6, failures)
        check("graph_conn", cpp["graph_conn"], py["graph_conn"], 0.02, failures)
    return labels


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cli", required=True)
    p.add_argument("--embeddings", required=True)
    p.add_argument("--key", default="")
    p.add_argument("--obs", default="")
    p.add_argument("--label-column", required=True)
    p.add_argument("--batch-column", default="")
    p.add_argument("--counts", default="")
    p.add_argument("--assume-normalized", action="store_true")
    args = p.parse_args()
    failures = []
    with tempfile.TemporaryDirectory() as dump:
        out = run_cli(args, dump)
        ids, x = read_embedding(args.embeddings, args.key)
        pos = {c: i for i, c in enumerate(ids)}
        kept = [l.split("\t")[0] for l in open(os.path.join(dump, "model_clusters.tsv"))][1:]
        compare_side("model", out["model"], x[[pos[i] for i in kept]], os.path.join(dump, "model_clusters.tsv"),
                     bool(args.batch_column), failures)
        if args.counts:
            _, xp = read_embedding(os.path.join(dump, "pca_embedding.tsv"), "")
            compare_side("pca", out["pca"], xp, os.path.join(dump, "pca_clusters.tsv"), bool(args.batch_column), failures)
            genes, ratio = python_pca(args.counts, kept, args.assume_normalized)
            cpp_genes = [l.strip() for l in open(os.path.join(dump, "pca_hvg.txt"))]
            same = genes == cpp_genes
            print(f"  hvg: sccello {len(cpp_genes)} genes, python {len(genes)}, identical: {same}")
            if not same:
                failures.append("hvg")
            cpp_ratio = [float(l.split("\t")[1]) for l in list(open(os.path.join(dump, "pca_variance.tsv")))[1:]]
            diff = max(abs(a - b) for a, b in zip(cpp_ratio, ratio))
            print(f"  pca variance ratio: {len(cpp_ratio)} components, max |diff| {diff:.2e} (tol 1e-4)")
            if diff > 1e-4:
                failures.append("pca variance")
    print("compare_eval: " + ("all checks passed" if not failures else "FAILED: " + ", ".join(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Independent numpy/scipy rank-value tokenizer (scCello / Geneformer encoding, docs/cells.md).

Reads an .h5ad with h5py (raw/X preferred, else X; CSR, CSC or dense), maps var ids to the
vocabulary (Ensembl, version stripped, or symbols via gene_symbol_to_ensembl.tsv then GENCODE;
first column wins for duplicates), tokenizes cell by cell as a numpy user would, and writes the
same TSV as `sccello cells tokens DATASET` (cell_id, term_id, tokens). Prints the time spent
tokenizing (tokens and log1p values per cell; writing the TSV is not timed) so that it can be
compared with the C++ tokenizer on the same file (bench/cells_bench.cc, BM_TokenizeVsNumpy).

usage: tokenize_numpy.py FILE.h5ad VOCAB_DIR OUT.tsv [--max-len 2048] [--term-column C]
Needs python3-numpy, python3-scipy, python3-h5py (Debian packages).
"""
import argparse, csv, gzip, sys, time
import h5py, numpy as np, scipy.sparse as sp

CLS = 25426

def load_vocab(d):
    tok, med = {}, {}
    with open(f"{d}/token_dictionary.tsv") as f:
        next(f)
        for line in f:
            g, t = line.rstrip("\n").split("\t"); tok[g] = int(t)
    with open(f"{d}/gene_median_dictionary.tsv") as f:
        next(f)
        for line in f:
            g, m = line.rstrip("\n").split("\t"); med[g] = float(m)
    sym = {}
    with open(f"{d}/gene_symbol_to_ensembl.tsv") as f:
        next(f)
        for line in f:
            s, g = line.rstrip("\n").split("\t")
            if s: sym.setdefault(s, g)
    gencode = {}
    with gzip.open(f"{d}/genes_homo_sapiens_gencode_v48.csv.gz", "rt") as f:
        for row in csv.reader(f):
            if len(row) >= 2 and row[1] and row[0].startswith("ENS"):
                gencode.setdefault(row[1], row[0].split(".")[0])
    return tok, med, sym, gencode

def text(a):
    return [x.decode() if isinstance(x, bytes) else str(x) for x in a]

def frame_column(g, name):
    obj = g[name]
    if isinstance(obj, h5py.Group):
        cats, codes = text(obj["categories"][:]), obj["codes"][:]
        return [cats[c] if c >= 0 else "" for c in codes]
    if "__categories" in g and name in g["__categories"]:
        cats = text(g["__categories"][name][:])
        return [cats[c] if c >= 0 else "" for c in obj[:]]
    return text(obj[:])

def read_matrix(h):
    m = h["raw/X"] if "raw/X" in h else h["X"]
    if isinstance(m, h5py.Dataset):
        return sp.csr_matrix(m[:])
    enc = m.attrs.get("encoding-type", m.attrs.get("h5sparse_format", "csr"))
    if isinstance(enc, bytes): enc = enc.decode()
    shape = tuple(m.attrs["shape"]) if "shape" in m.attrs else tuple(m.attrs["h5sparse_shape"])
    cls = sp.csr_matrix if enc.startswith("csr") else sp.csc_matrix
    return cls((m["data"][:], m["indices"][:], m["indptr"][:]), shape=shape).tocsr()

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file"); ap.add_argument("vocab"); ap.add_argument("out")
    ap.add_argument("--max-len", type=int, default=2048)
    ap.add_argument("--term-column", default="cell_type_ontology_term_id")
    a = ap.parse_args()
    tok, med, sym, gencode = load_vocab(a.vocab)
    h = h5py.File(a.file, "r")
    var = h["raw/var"] if "raw/X" in h and "raw/var" in h else h["var"]
    var_ids = frame_column(var, var.attrs["_index"] if "_index" in var.attrs else "_index")
    obs = h["obs"]
    cell_ids = frame_column(obs, obs.attrs["_index"] if "_index" in obs.attrs else "_index")
    terms = frame_column(obs, a.term_column) if a.term_column in obs else [""] * len(cell_ids)
    X = read_matrix(h).astype(np.float64)
    # per-column token and median; -1 = not in the vocabulary (or a duplicate)
    col_tok = np.full(X.shape[1], -1, dtype=np.int64); col_med = np.ones(X.shape[1])
    seen = set()
    for c, g in enumerate(var_ids):
        e = g.split(".")[0] if g.startswith("ENS") else sym.get(g, gencode.get(g, ""))
        if e in tok and e not in seen:
            seen.add(e); col_tok[c] = tok[e]; col_med[c] = med[e]
    keep = np.where(col_tok >= 0)[0]
    Xv = X[:, keep].tocsr(); toks = col_tok[keep]; meds = col_med[keep]
    t0 = time.perf_counter()
    seqs = []
    for i in range(Xv.shape[0]):                      # per-cell, as the reference does
        row = Xv.getrow(i).toarray().ravel()
        n = row.sum()
        if n == 0: n = 1.0
        v = row * 10000.0 / n
        r = v / meds
        nz = np.nonzero(row > 0)[0]
        order = nz[np.argsort(-r[nz], kind="stable")][: a.max_len - 1]
        seqs.append((toks[order], np.log1p(v[order])))
    t1 = time.perf_counter()                          # timed: the encoding only, not the TSV text
    with open(a.out, "w") as f:
        f.write("cell_id\tterm_id\ttokens\n")
        for i, (seq, _values) in enumerate(seqs):
            f.write(f"{cell_ids[i]}\t{terms[i]}\t{CLS} {' '.join(map(str, seq.tolist()))}\n".replace(f"{CLS} \n", f"{CLS}\n"))
    print(f"numpy per-cell tokenization: {Xv.shape[0]} cells in {t1 - t0:.3f} s = {Xv.shape[0] / (t1 - t0):.0f} cells/s",
          file=sys.stderr)

if __name__ == "__main__":
    main()

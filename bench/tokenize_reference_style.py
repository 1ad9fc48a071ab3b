#!/usr/bin/env python3
"""Rank-value tokenization the way a scCello/Geneformer user runs it today, as one process:
anndata.read_h5ad, the matrix in batches of 512 cells (scipy CSR), per cell getrow + argsort of
the median-normalised counts, a dict lookup per token. The reference side of
bench/import_speed.sh (whole processes, side by side with `sccello cells import`).

usage: tokenize_reference_style.py FILE.h5ad VOCAB_DIR [--max-len 2048]
Needs Debian's python3-anndata, python3-numpy, python3-scipy (run with /usr/bin/python3).
"""
import argparse
import sys

import anndata as ad
import numpy as np
import scipy.sparse as sp

CLS = 25426


def load_vocab(d):
    tok, med, sym = {}, {}, {}
    with open(f"{d}/token_dictionary.tsv") as f:
        next(f)
        for line in f:
            g, t = line.rstrip("\n").split("\t")
            tok[g] = int(t)
    with open(f"{d}/gene_median_dictionary.tsv") as f:
        next(f)
        for line in f:
            g, m = line.rstrip("\n").split("\t")
            med[g] = float(m)
    with open(f"{d}/gene_symbol_to_ensembl.tsv") as f:
        next(f)
        for line in f:
            s, g = line.rstrip("\n").split("\t")
            if s:
                sym.setdefault(s, g)
    return tok, med, sym


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("vocab")
    ap.add_argument("--max-len", type=int, default=2048)
    a = ap.parse_args()
    tok, med, sym = load_vocab(a.vocab)
    adata = ad.read_h5ad(a.file)
    x = adata.raw.X if adata.raw is not None else adata.X
    var = adata.raw.var if adata.raw is not None else adata.var
    ids = var["gene_id"].astype(str).tolist() if "gene_id" in var.columns else var.index.astype(str).tolist()
    ens = [i.split(".")[0] if i.startswith("ENSG") else sym.get(i, "") for i in ids]
    keep = np.array([i for i, g in enumerate(ens) if g in tok and g in med], dtype=np.int64)
    genes = [ens[i] for i in keep]
    medians = np.array([med[g] for g in genes])
    x = sp.csr_matrix(x)[:, keep]
    n_tokens = 0
    for start in range(0, x.shape[0], 512):
        batch = x[start:start + 512]
        totals = np.asarray(batch.sum(axis=1)).ravel()
        for r in range(batch.shape[0]):
            row = batch.getrow(r)
            n = totals[r] if totals[r] > 0 else 1.0
            v = row.data * 10000.0 / n
            ranks = v / medians[row.indices]
            order = np.argsort(-ranks, kind="stable")[: a.max_len - 1]
            tokens = [CLS] + [tok[genes[j]] for j in row.indices[order]]
            values = [0.0] + list(np.log1p(v[order]))
            n_tokens += len(tokens)
    print(f"tokenized {x.shape[0]} cells, {n_tokens} tokens", file=sys.stderr)


if __name__ == "__main__":
    main()

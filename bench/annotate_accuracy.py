#!/usr/bin/env python3
"""Accuracy of `sccello annotate` against known labels, computed independently of sccello.

Reads the annotated .h5ad (anndata), maps a truth column to CL ids with a TSV (label -> cl_id),
builds the is_a closure from an OBO file with plain Python, and reports for the ontology call
(sccello_term_id) and for the flat kNN majority vote (sccello_fine_term_id) side by side:
  exact      call == truth
  hierarchical  call is the truth or one of its ancestors (right, possibly less specific)
  consistent call is an ancestor or a descendant of the truth (on the truth's lineage)
  depth      mean depth of the calls (longest is_a path to a root)
Usage: annotate_accuracy.py OUT.h5ad OBO TRUTH_COLUMN MAP.tsv [--json]
"""
import json
import sys
from collections import defaultdict

import anndata as ad


def read_obo(path):
    parents, obsolete, term = defaultdict(set), set(), None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line.startswith("["):
                term = None
            elif line.startswith("id: CL:"):
                term = line[4:]
            elif term and line.startswith("is_a: CL:"):
                parents[term].add(line[6:].split()[0])
            elif term and line == "is_obsolete: true":
                obsolete.add(term)
    return parents, obsolete


def ancestors(term, parents, cache):
    if term not in cache:
        out = {term}
        for p in parents.get(term, ()):
            out |= ancestors(p, parents, cache)
        cache[term] = out
    return cache[term]


def depth(term, parents, cache):
    if term not in cache:
        ps = parents.get(term, ())
        cache[term] = 0 if not ps else 1 + max(depth(p, parents, cache) for p in ps)
    return cache[term]


def main():
    h5ad, obo, column, mapping = sys.argv[1:5]
    as_json = "--json" in sys.argv
    label_to_cl = {}
    with open(mapping, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            row = dict(zip(header, line.rstrip("\n").split("\t")))
            if row.get("cl_id"):
                label_to_cl[row[header[0]]] = row["cl_id"]
    parents, _ = read_obo(obo)
    anc, dep = {}, {}
    a = ad.read_h5ad(h5ad)
    truth = [label_to_cl.get(str(v), "") for v in a.obs[column]]
    report = {}
    for name, col in (("ontology_call", "sccello_term_id"), ("flat_knn", "sccello_fine_term_id")):
        calls = [str(v) for v in a.obs[col]]
        n = exact = hier = cons = 0
        depths = []
        for t, c in zip(truth, calls):
            if not t or not c:
                continue
            n += 1
            exact += c == t
            hier += c in ancestors(t, parents, anc)
            cons += c in ancestors(t, parents, anc) or t in ancestors(c, parents, anc)
            depths.append(depth(c, parents, dep))
        report[name] = {"cells": n, "exact": exact / n, "hierarchical": hier / n, "consistent": cons / n,
                        "mean_depth": sum(depths) / len(depths)}
    if "sccello_is_novel" in a.obs:
        report["flagged_novel"] = int(a.obs["sccello_is_novel"].sum())
    if as_json:
        print(json.dumps(report, indent=1))
        return
    print("%-14s %6s %7s %12s %10s %10s" % ("call", "cells", "exact", "hierarchical", "consistent", "depth"))
    for name in ("ontology_call", "flat_knn"):
        r = report[name]
        print("%-14s %6d %7.3f %12.3f %10.3f %10.2f" % (name, r["cells"], r["exact"], r["hierarchical"],
                                                      r["consistent"], r["mean_depth"]))


if __name__ == "__main__":
    main()

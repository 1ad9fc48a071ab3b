#!/usr/bin/python3
"""The table of docs/quality.md from bench/quality_study.sh's results.tsv: per split, evaluation
set and configuration, mean ± sd over seeds of NMI, ARI, ASW_label, AvgBio, the kNN purity of
the T-cell labels, and training cells/s; then whether (a) full beats PCA, (b) full beats MGP-only
by >= 0.05 and (c) full beats target `none` by more than 2 sd hold per evaluation set (with
Welch's one-sided t-test beside (c) when scipy is installed).
Usage: bench/quality_table.py OUT_DIR [OUT_DIR ...] [--config full]  (several studies merged)"""
import json
import re
import statistics
import sys
from collections import defaultdict

T_LABEL = re.compile(r"(\bT\b|T cell|T Reg|Naive T|Memory|Cytotoxic|CD8|CD4)")


def mean_sd(values):
    if not values:
        return float("nan"), float("nan")
    if len(values) == 1:
        return values[0], 0.0
    return statistics.mean(values), statistics.stdev(values)


def fmt(values, digits=3):
    m, s = mean_sd(values)
    return f"{m:.{digits}f} ± {s:.{digits}f}" if len(values) > 1 else f"{m:.{digits}f}"


def welch(a, b):
    """Beside the 2-sd rule: Welch's t-test that a's mean exceeds b's (one-sided), when scipy is
    there and both sides have two seeds or more."""
    if len(a) < 2 or len(b) < 2:
        return ""
    try:
        from scipy import stats
    except ImportError:
        return ""
    t, p = stats.ttest_ind(a, b, equal_var=False, alternative="greater")
    return f" [Welch t = {t:.2f}, one-sided p = {p:.3f}, {len(a)} vs {len(b)} seeds]"


def load(paths):
    rows, seen_pca = [], set()
    for path in paths:
        with open(path) as f:
            header = f.readline().rstrip("\n").split("\t")
            for line in f:
                r = dict(zip(header, line.rstrip("\n").split("\t")))
                if r["config"] == "pca":  # the same baseline is scored beside every configuration
                    key = (r["split"], r["seed"], r["eval"])
                    if key in seen_pca:
                        continue
                    seen_pca.add(key)
                rows.append(r)
    return rows


def main():
    args = sys.argv[1:]
    best = "full"
    if "--config" in args:
        best = args[args.index("--config") + 1]
        del args[args.index("--config"):args.index("--config") + 2]
    rows = load([d if d.endswith(".tsv") else d + "/results.tsv" for d in args])
    groups = defaultdict(list)
    for r in rows:
        groups[(r["split"], r["eval"], r["config"])].append(r)
    print("| train → eval | config | seeds | NMI | ARI | ASW_label | AvgBio | T-cell kNN purity | per T label | train cells/s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    order = ["pca"]
    for r in rows:
        if r["config"] not in order:
            order.append(r["config"])
    for split, ev in sorted({(k[0], k[1]) for k in groups}):
        for config in order:
            g = groups.get((split, ev, config))
            if not g:
                continue
            col = {m: [float(r[m]) for r in g] for m in ("nmi", "ari", "asw_label", "avg_bio")}
            per_label = defaultdict(list)
            for r in g:
                for label, v in json.loads(r["label_purity"]).items():
                    if T_LABEL.search(label):
                        per_label[label].append(v)
            t_mean = [statistics.mean(vs) for vs in zip(*per_label.values())] if per_label else []
            per_text = "; ".join(f"{label} {statistics.mean(v):.2f}" for label, v in sorted(per_label.items()))
            speed = [float(r["train_cells_s"]) for r in g if r["train_cells_s"]]
            print(f"| {split} → {ev} | {config} | {len(g)} | {fmt(col['nmi'])} | {fmt(col['ari'])} | "
                  f"{fmt(col['asw_label'])} | {fmt(col['avg_bio'])} | {fmt(t_mean, 2)} | {per_text} | "
                  f"{fmt(speed, 1) if speed else ''} |")
    print()
    for split, ev in sorted({(k[0], k[1]) for k in groups}):
        def bio(config):
            return [float(r["avg_bio"]) for r in groups.get((split, ev, config), [])]
        # Ablations only at the same number of steps as the configuration judged: C-mgp, C-none.
        ablation = ("mgp", "none") if best == "full" else (best + "-mgp", best + "-none")
        full, pca, mgp, none = bio(best), bio("pca"), bio(ablation[0]), bio(ablation[1])
        if not full:
            continue
        fm, fs = mean_sd(full)
        verdicts = []
        if pca:
            verdicts.append(f"(a) {best} {fm:.3f} vs PCA {mean_sd(pca)[0]:.3f}: {'holds' if fm > mean_sd(pca)[0] else 'does not hold'}")
        if mgp:
            d = fm - mean_sd(mgp)[0]
            verdicts.append(f"(b) vs MGP-only {d:+.3f}: {'holds' if d >= 0.05 else 'does not hold'}")
        if none:
            nm, ns = mean_sd(none)
            sd = max(fs, ns)
            verdict = f"(c) vs none {fm - nm:+.3f} (2 sd = {2 * sd:.3f}): {'holds' if fm - nm > 2 * sd else 'does not hold'}"
            verdicts.append(verdict + welch(full, none))
        print(f"- {split} → {ev}: " + "; ".join(verdicts))


if __name__ == "__main__":
    main()

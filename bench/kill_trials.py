#!/usr/bin/env python3
"""kill -9 trials: every writing command, on each store backend, killed at random moments.

For each backend (rocksdb, sqlite) and command (ontology import, cells import, index build, train
with checkpoints) the script first runs the command once uninterrupted (the reference: its run
time and what the store shows afterwards), then TRIALS times: copies the prepared store, starts the
command, sends SIGKILL after a delay drawn uniformly from [0, 1.2 x reference time], and checks
what a user would see next:

  * every read command still works (exit 0),
  * the store shows exactly the state before the command or exactly the state after it
    (the listing, and when "after", the same answers as the reference run),
  * the command run again finishes (exit 0) and then the store equals the reference,
  * train: every checkpoint file left behind loads (embed on 700 cells), and --resume finishes.

Anything else is a partial state and is printed. Prints one row per (backend, command):
trials, killed mid-run, found before / after, partial states.

Usage: bench/kill_trials.py [--build build] [--trials 25] [--seed 1] [--only rocksdb:cells]
"""
import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OBO_OLD = "data/ontology/cl-basic-2021-12-16.obo"
OBO_NEW = "data/ontology/cl-basic-2022-12-15.obo"
PBMC3K = "data/cells/pbmc3k_seurat/pbmc3k_seurat.h5ad"
PBMC4K = "data/cells/pbmc4k_soupx/pbmc4k_soupx.h5ad"
PBMC68K = "data/cells/pbmc68k_reduced/10x_pbmc68k_reduced.h5ad"


class Cli:
    def __init__(self, build):
        self.exe = os.path.join(ROOT, build, "cli", "sccello")

    def args(self, store, *args):
        return [self.exe, "--store", store, "--threads", "1", *args]

    def run(self, store, *args, check=True):
        p = subprocess.run(self.args(store, *args), cwd=ROOT, capture_output=True, text=True)
        if check and p.returncode != 0:
            raise RuntimeError("sccello %s failed (%d): %s" % (" ".join(args), p.returncode, p.stderr))
        return p


def copy_store(src, dst):
    if os.path.isdir(src):
        shutil.copytree(src, dst)
    else:
        shutil.copyfile(src, dst)


def strip_times(text):
    # listings carry import timestamps; compare everything else
    return "\n".join("\t".join(f for f in line.split("\t") if not looks_like_time(f)) for line in text.splitlines())


def looks_like_time(field):
    return len(field) == 20 and field[4] == "-" and field[10] == "T" and field.endswith("Z")


class Case:
    """One writing command: how to run it, how to read the state it changes."""

    def __init__(self, name, command, probe, redo=None):
        self.name, self.command, self.probe = name, command, probe
        self.redo = redo or command


def ontology_case(cli):
    def probe(store):
        listing = cli.run(store, "--tsv", "ontology", "list").stdout
        state = strip_times(listing)
        if "2022-12-15" in listing:
            state += cli.run(store, "--release", "2022-12-15", "ontology", "ancestors", "CL:0000236").stdout
            state += cli.run(store, "--release", "2022-12-15", "ontology", "lca", "CL:0000624", "CL:0000625").stdout
            state += cli.run(store, "targets", "show", "CL:0000624", "CL:0000625", "--release", "2022-12-15").stdout
        return state
    return Case("ontology import", lambda s, w: ["ontology", "import", OBO_NEW], probe)


def cells_case(cli):
    def probe(store):
        listing = cli.run(store, "--tsv", "cells", "list").stdout
        state = strip_times(listing)
        if "\np4k\t" in listing:
            state += cli.run(store, "cells", "show", "p4k", "0").stdout
            state += cli.run(store, "cells", "show", "p4k", "2169").stdout
            state += cli.run(store, "--tsv", "cells", "stats", "p4k").stdout
        return state
    return Case("cells import", lambda s, w: ["cells", "import", PBMC4K, "--dataset", "p4k"], probe)


def index_case(cli, checkpoint):
    def probe(store):
        listing = cli.run(store, "--tsv", "index", "list").stdout
        state = strip_times(listing)
        if "\nknn\t" in listing:
            cell = cli.run(store, "cells", "show", "pbmc3k", "0").stdout.split()[1]
            state += cli.run(store, "query", "knn", "--cell", "pbmc3k/" + cell, "--k", "5").stdout
        return state
    return Case("index build", lambda s, w: ["index", "build", "--checkpoint", checkpoint, "--name", "knn",
                                             "--datasets", "pbmc3k"], probe)


def train_case(cli):
    train = ["train", "--config", "model/configs/tiny.json", "--datasets", "pbmc3k", "--steps", "12",
             "--checkpoint-every", "2", "--keep-last", "3", "--log-every", "2", "--max-cells", "400"]

    def command(store, work):
        return train + ["--out", os.path.join(work, "run")]

    def redo(store, work):
        run = os.path.join(work, "run")
        if checkpoints_of(run)[0]:
            return ["train", "--resume", run]
        shutil.rmtree(run, ignore_errors=True)
        return command(store, work)

    return Case("train checkpoint", command, None, redo)


def checkpoints_of(run):
    d = os.path.join(run, "checkpoints")
    if not os.path.isdir(d):
        return [], []
    names = sorted(os.listdir(d))
    return [os.path.join(d, n) for n in names if n.endswith(".ckpt")], [n for n in names if not n.endswith(".ckpt")]


def train_probe(cli, store, work):
    """What a killed training run left: the problems (checkpoints that do not load) and how many
    checkpoints there were."""
    problems = []
    ckpts, _ = checkpoints_of(os.path.join(work, "run"))
    for c in ckpts:
        out = os.path.join(work, "e.npy")
        p = cli.run(store, "embed", "--checkpoint", c, "--h5ad", PBMC68K, "--assume-normalized", "--no-store",
                    "--out", out, check=False)
        if p.returncode != 0:
            problems.append("checkpoint %s does not load: %s" % (os.path.basename(c), p.stderr.strip()[-200:]))
    return problems, len(ckpts)


def run_killed(cli, args, store, delay):
    p = subprocess.Popen(cli.args(store, *args), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        p.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGKILL)
        p.wait()
    p.stderr.close()
    return p.returncode


def killed_trial(cli, backend, case, base, reference_time, rng, tmp):
    """One trial's start: a copy of `base` in a fresh folder, the command killed after a random delay.
    Returns (folder, store, delay, whether the kill landed before the command ended)."""
    work = tempfile.mkdtemp(dir=tmp)
    store = os.path.join(work, "store" + (".db" if backend == "sqlite" else ""))
    copy_store(base, store)
    delay = rng.uniform(0, 1.2 * reference_time)
    rc = run_killed(cli, case.command(store, work), store, delay)
    return work, store, delay, rc == -signal.SIGKILL


def store_trials(cli, backend, case, base, reference_time, reference_after, before, trials, rng, tmp):
    killed = found_before = found_after = 0
    partial = []
    for t in range(trials):
        work, store, delay, was_killed = killed_trial(cli, backend, case, base, reference_time, rng, tmp)
        killed += was_killed
        try:
            state = case.probe(store)
        except RuntimeError as e:
            partial.append("trial %d (kill at %.3f s): a read failed: %s" % (t, delay, e))
            shutil.rmtree(work)
            continue
        if state == before:
            found_before += 1
        elif state == reference_after:
            found_after += 1
        else:
            partial.append("trial %d (kill at %.3f s): state is neither before nor after" % (t, delay))
        if state != reference_after:
            p = cli.run(store, *case.redo(store, work), check=False)
            if p.returncode != 0 or case.probe(store) != reference_after:
                partial.append("trial %d (kill at %.3f s): rerun did not reach the reference (%d: %s)"
                               % (t, delay, p.returncode, p.stderr.strip()[-200:]))
        shutil.rmtree(work)
    return killed, found_before, found_after, partial


def train_trials(cli, backend, case, base, reference_time, trials, rng, tmp):
    killed = loaded = 0
    partial = []
    for t in range(trials):
        work, store, delay, was_killed = killed_trial(cli, backend, case, base, reference_time, rng, tmp)
        killed += was_killed
        problems, n = train_probe(cli, store, work)
        loaded += n
        partial += ["trial %d (kill at %.3f s): %s" % (t, delay, x) for x in problems]
        p = cli.run(store, *case.redo(store, work), check=False)
        if p.returncode != 0:
            partial.append("trial %d (kill at %.3f s): rerun/resume failed (%d): %s"
                           % (t, delay, p.returncode, p.stderr.strip()[-300:]))
        else:
            ckpts, others = checkpoints_of(os.path.join(work, "run"))
            if not any(c.endswith("step-00000012.ckpt") for c in ckpts):
                partial.append("trial %d: resume did not reach step 12" % t)
            if others:
                partial.append("trial %d: left behind after resume: %s" % (t, others))
            problems, _ = train_probe(cli, store, work)
            partial += ["trial %d after resume: %s" % (t, x) for x in problems]
        shutil.rmtree(work)
    return killed, loaded, partial


def prepare(cli, backend, tmp):
    """Stores a command starts from: A = 2021 release only; B = A + pbmc3k cells (+ 2022 release)."""
    suffix = ".db" if backend == "sqlite" else ""
    a = os.path.join(tmp, "base-a" + suffix)
    cli.run(a, "--backend", backend, "ontology", "import", OBO_OLD)
    b = os.path.join(tmp, "base-b" + suffix)
    copy_store(a, b)
    cli.run(b, "ontology", "import", OBO_NEW)
    cli.run(b, "cells", "import", PBMC3K, "--dataset", "pbmc3k")
    return a, b


def timed(cli, store, args):
    start = time.monotonic()
    cli.run(store, *args)
    return time.monotonic() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--trials", type=int, default=25)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only", default="", help="backend:command-word, e.g. sqlite:cells")
    opt = ap.parse_args()
    cli = Cli(opt.build)
    rng = random.Random(opt.seed)
    tmp = tempfile.mkdtemp(prefix="sccello-kill-")
    rows, failures = [], []
    try:
        ckpt_store = os.path.join(tmp, "ckpt-store")
        cli.run(ckpt_store, "ontology", "import", OBO_NEW)
        cli.run(ckpt_store, "cells", "import", PBMC3K, "--dataset", "pbmc3k")
        checkpoint = os.path.join(tmp, "ckpt")
        cli.run(ckpt_store, "train", "--config", "model/configs/tiny.json", "--datasets", "pbmc3k", "--steps", "4",
                "--out", checkpoint)
        for backend in ("rocksdb", "sqlite"):
            base_a, base_b = prepare(cli, backend, tmp)
            cases = [(ontology_case(cli), base_a), (cells_case(cli), base_b),
                     (index_case(cli, checkpoint), base_b), (train_case(cli), base_b)]
            for case, base in cases:
                if opt.only and opt.only != backend + ":" + case.name.split()[0]:
                    continue
                ref = os.path.join(tmp, "ref")
                copy_store(base, ref)
                before = case.probe(ref) if case.probe else None
                work = tempfile.mkdtemp(dir=tmp)
                elapsed = timed(cli, ref, case.command(ref, work))
                label = "%-8s %-17s" % (backend, case.name)
                if case.probe:
                    after = case.probe(ref)
                    k, b, a, partial = store_trials(cli, backend, case, base, elapsed, after, before, opt.trials,
                                                    rng, tmp)
                    rows.append((label, opt.trials, elapsed, k, "before %d / after %d" % (b, a), len(partial)))
                else:
                    k, n, partial = train_trials(cli, backend, case, base, elapsed, opt.trials, rng, tmp)
                    rows.append((label, opt.trials, elapsed, k, "%d checkpoints loaded" % n, len(partial)))
                failures += [label + ": " + p for p in partial]
                shutil.rmtree(work)
                shutil.rmtree(ref) if os.path.isdir(ref) else os.remove(ref)
                print("%s  trials %3d  reference %6.2f s  killed mid-run %3d  %-28s  partial %d" % rows[-1],
                      flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for f in failures:
        print("PARTIAL " + f)
    print("total: %d trials, %d partial states" % (sum(r[1] for r in rows), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

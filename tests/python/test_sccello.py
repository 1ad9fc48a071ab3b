"""The Python module against the CLI on bundled data (run by ctest; docs/python.md).

A store with two CL releases and pbmc3k is built with the `sccello` CLI, a tiny model is trained
for two steps and an index built over pbmc3k; then every Python answer is compared with the
CLI's: ontology queries (--json), target rows and matrices, embeddings of the first cells of
pbmc3k (within 1e-6), tokenization and import reports, search hits and annotation calls.
Environment: SCCELLO_CLI (the sccello executable), SCCELLO_SOURCE_DIR (the source tree).
"""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import anndata as ad
import numpy as np

import sccello

CLI = os.environ["SCCELLO_CLI"]
SRC = os.environ["SCCELLO_SOURCE_DIR"]
DATA = os.path.join(SRC, "data")
PBMC = os.path.join(DATA, "cells", "pbmc3k_seurat", "pbmc3k_seurat.h5ad")
TMP = tempfile.mkdtemp(prefix="sccello-python-test-")
STORE = os.path.join(TMP, "store")
RUN = os.path.join(TMP, "run")
SMALL = os.path.join(TMP, "small.h5ad")


def cli(*args, check=True):
    """Runs `sccello --store STORE ARGS`; returns (exit status, stdout, stderr)."""
    p = subprocess.run([CLI, "--store", STORE, "--threads", "2", *args], capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError("sccello %s failed: %s" % (" ".join(args), p.stderr))
    return p.returncode, p.stdout, p.stderr


def cli_json(*args):
    return json.loads(cli("--json", *args)[1])


def setUpModule():
    for release in ("cl-basic-2021-12-16.obo", "cl-basic-2022-12-15.obo"):
        cli("ontology", "import", os.path.join(DATA, "ontology", release))
    cli("cells", "import", PBMC, "--dataset", "pbmc3k")
    cli("train", "--config", os.path.join(SRC, "model", "configs", "tiny.json"), "--datasets", "pbmc3k",
        "--steps", "2", "--out", RUN)
    cli("index", "build", "--checkpoint", RUN, "--name", "ref", "--datasets", "pbmc3k")
    ad.read_h5ad(PBMC)[:40].copy().write_h5ad(SMALL)


def tearDownModule():
    shutil.rmtree(TMP, ignore_errors=True)


class OntologyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.store = sccello.Store(STORE)
        cls.onto = cls.store.ontology()

    def test_releases(self):
        self.assertEqual(self.store.releases(), ["2021-12-16", "2022-12-15"])
        self.assertEqual(self.onto.release, "2022-12-15")

    def test_ancestors_and_descendants_equal_the_cli(self):
        for term in ("CL:0000236", "CL:0000084", "cl_0000542"):
            want = [r["term_id"] for r in cli_json("ontology", "ancestors", term)]
            self.assertEqual(self.onto.ancestors(term), want)
            want = [r["term_id"] for r in cli_json("ontology", "descendants", term)]
            self.assertEqual(self.onto.descendants(term), want)
        self.assertGreater(len(self.onto.ancestors("CL:0000236")), 3)

    def test_lca_is_ancestor_search(self):
        want = [r["term_id"] for r in cli_json("ontology", "lca", "CL:0000236", "CL:0000084")]
        self.assertEqual(self.onto.lca(["CL:0000236", "CL:0000084"]), want)
        self.assertTrue(self.onto.is_ancestor("CL:0000542", "CL:0000236"))
        self.assertFalse(self.onto.is_ancestor("CL:0000236", "CL:0000542"))
        hits = self.onto.search("t cell")
        self.assertEqual(list(hits["term_id"]), [r["term_id"] for r in cli_json("ontology", "search", "t cell")])

    def test_migrate_and_diff_equal_the_cli(self):
        old = self.store.ontology("2021-12-16")
        terms = ["CL:0000236", "CL:0000084"]
        want = cli_json("ontology", "migrate", *terms, "--from", "2021-12-16", "--to", "2022-12-15")
        got = old.migrate(terms, "2022-12-15")
        self.assertEqual(list(got["status"]), [r["status"] for r in want])
        self.assertEqual(list(got["to_term_id"]), [r["to_term_id"] for r in want])
        diff = old.diff("2022-12-15")
        want = {r["change"]: int(r["count"]) for r in cli_json("ontology", "diff", "2021-12-16", "2022-12-15", "--summary")}
        for change in ("added", "obsolete", "renamed", "parents", "removed"):
            self.assertEqual(int((diff["change"] == change).sum()), want[change], change)

    def test_unknown_term_raises_the_cli_message(self):
        status, _, err = cli("ontology", "ancestors", "CL:9999999", check=False)
        self.assertEqual(status, 1)
        with self.assertRaises(sccello.Error) as caught:
            self.onto.ancestors("CL:9999999")
        self.assertEqual("sccello: error: " + str(caught.exception), err.strip())

    def test_missing_store_raises(self):
        with self.assertRaises(sccello.Error) as caught:
            sccello.Store(os.path.join(TMP, "nowhere"))
        self.assertIn("no store at", str(caught.exception))

    def test_targets_row_and_matrix_equal_the_cli(self):
        targets = self.store.targets("ppr")
        row = targets.row("CL:0000236")
        self.assertEqual(row.dtype, np.float64)
        self.assertEqual(len(row), len(targets.labels))
        top = cli_json("targets", "row", "--target", "ppr", "CL:0000236", "--top", "5")
        for r in top:
            self.assertAlmostEqual(row[targets.labels.index(r["term_id"])], float(r["raw"]), places=12)
        terms = ["CL:0000236", "CL:0000084", "CL:0000542", "CL:0000576"]
        path = os.path.join(TMP, "terms.txt")
        with open(path, "w") as f:
            f.write("\n".join(terms) + "\n")
        want = cli_json("targets", "matrix", "--target", "ppr", "--terms", path)
        levels = targets.matrix(terms)
        self.assertEqual(levels.dtype, np.int32)
        np.testing.assert_array_equal(levels, np.array(want["matrix"], dtype=np.int32))
        raw = targets.matrix(terms, raw=True)
        want = cli_json("targets", "matrix", "--target", "ppr", "--terms", path, "--raw")
        np.testing.assert_allclose(raw, np.array(want["matrix"]), rtol=0, atol=1e-12)


class CellsTest(unittest.TestCase):
    def test_tokenize_matches_the_imported_corpus(self):
        adata = ad.read_h5ad(SMALL)
        out = sccello.tokenize(adata)
        self.assertEqual(len(out["offsets"]), adata.n_obs + 1)
        self.assertEqual(out["tokens"].dtype, np.int32)
        self.assertEqual(out["cell_ids"], list(adata.obs_names))
        genes = out["genes"]
        self.assertEqual(genes["genes_in_file"], adata.n_vars)
        self.assertTrue(genes["text"].startswith("genes: %d of %d mapped" % (genes["mapped"], adata.n_vars)))
        first = cli_json("cells", "show", "pbmc3k", adata.obs_names[0], "--top", "5")
        tokens = out["tokens"][out["offsets"][0]:out["offsets"][1]]
        self.assertEqual([int(r["token"]) for r in first], list(tokens[1:6]))

    def test_import_adata_equals_cells_import(self):
        store = sccello.Store(STORE, writable=True)
        report = store.import_adata(ad.read_h5ad(PBMC), dataset="py3k")
        del store
        datasets = {d["dataset"]: d for d in cli_json("cells", "list")}
        self.assertEqual(report["cells"], int(datasets["pbmc3k"]["cells"]))
        self.assertEqual(report["tokens"], int(datasets["py3k"]["tokens"]))
        self.assertEqual(datasets["py3k"]["tokens"], datasets["pbmc3k"]["tokens"])

    def test_read_only_store_refuses_import(self):
        with self.assertRaises(sccello.Error) as caught:
            sccello.Store(STORE).import_adata(ad.read_h5ad(SMALL), dataset="x")
        self.assertIn("writable=True", str(caught.exception))


class ModelTest(unittest.TestCase):
    def test_embed_equals_the_cli(self):
        npy = os.path.join(TMP, "small.npy")
        cli("embed", "--checkpoint", RUN, "--h5ad", SMALL, "--out", npy)
        want = np.load(npy)
        adata = ad.read_h5ad(SMALL)
        sccello.embed(adata, RUN, threads=2)
        got = adata.obsm["X_sccello"]
        self.assertEqual(got.shape, want.shape)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)

    def test_embed_missing_checkpoint_raises(self):
        with self.assertRaises(sccello.Error):
            sccello.embed(ad.read_h5ad(SMALL), os.path.join(TMP, "no-such-run"))

    def test_search_equals_the_cli(self):
        want = cli_json("query", "ref", "--h5ad", SMALL, "--cells", "AAACATACAACCAC-1", "--k", "5", "--exact")
        index = sccello.Store(STORE).index("ref")
        adata = ad.read_h5ad(SMALL)
        hits = sccello.search(index, adata, k=5, exact=True)  # the same 40 cells embedded as the CLI does
        hits = hits[hits["query"] == "AAACATACAACCAC-1"]
        self.assertEqual(list(hits["cell_id"]), [h["cell_id"] for h in want["hits"]])
        self.assertEqual(list(hits["relation"]), [h["relation"] for h in want["hits"]])
        np.testing.assert_allclose(hits["similarity"], [h["similarity"] for h in want["hits"]], atol=1e-5)
        under = sccello.search(index, adata.obsm["X_sccello"] if "X_sccello" in adata.obsm else
                               sccello.embed(adata, RUN).obsm["X_sccello"], k=3, under="CL:0000084")
        self.assertTrue(all(sccello.Store(STORE).ontology().is_ancestor("CL:0000084", t) for t in under["term_id"]))

    def test_annotate_equals_the_cli(self):
        out = os.path.join(TMP, "annotated.h5ad")
        cli("annotate", "--index", "ref", "--h5ad", SMALL, "--out", out, "--exact")
        want = ad.read_h5ad(out).obs
        adata = sccello.annotate(ad.read_h5ad(SMALL), sccello.Store(STORE).index("ref"), exact=True)
        for column in ("sccello_term_id", "sccello_fine_term_id", "sccello_is_novel", "sccello_prototype_term_id"):
            self.assertEqual(list(adata.obs[column]), list(want[column]), column)
        np.testing.assert_allclose(adata.obs["sccello_score"], want["sccello_score"], atol=1e-6)


if __name__ == "__main__":
    unittest.main()

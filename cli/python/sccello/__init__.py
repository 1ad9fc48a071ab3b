"""sccello: ontology-guided single-cell foundation model engine, from Python (docs/python.md).

Thin over the C++ libraries the `sccello` CLI uses: the same gene mapping, tokenizer, model,
index and annotation code, with the same error messages (raised as sccello.Error). AnnData
matrices are handed over without copying when X is float32 CSR (int32 indices) or C-contiguous
float32 dense; other layouts are converted once.
"""
import os

import numpy as np

from ._sccello import Error, Index, Ontology, Store, Targets, _Matrix
from . import _sccello

__all__ = ["Error", "Store", "Ontology", "Targets", "Index", "tokenize", "embed", "search", "annotate"]

_HERE = os.path.dirname(os.path.abspath(__file__))


def _counts(adata, layer=None):
    """The matrix `cells import` reads: layers[layer], else raw.X when present, else X."""
    if layer:
        return adata.layers[layer], adata.var, "adata.layers['%s']" % layer
    if adata.raw is not None:
        return adata.raw.X, adata.raw.var, "adata.raw.X"
    return adata.X, adata.var, "adata.X"


def _as_float32_csr_or_dense(x):
    """(data, indices, indptr, kind): views of x when its layout allows, else one converted copy."""
    import scipy.sparse as sp
    if sp.issparse(x):
        if x.format != "csr":
            x = x.tocsr()
        data = x.data if x.data.dtype == np.float32 else x.data.astype(np.float32)
        indices = x.indices if x.indices.dtype == np.int32 else x.indices.astype(np.int32)
        indptr = x.indptr if x.indptr.dtype in (np.int32, np.int64) else x.indptr.astype(np.int64)
        return (np.ascontiguousarray(data), np.ascontiguousarray(indices), np.ascontiguousarray(indptr),
                "CSR float32")
    x = np.ascontiguousarray(np.asarray(x), dtype=np.float32)
    return x, None, None, "dense float32"


def _obs_text(column):
    """An obs column as text, "" where missing (as the h5ad reader gives it)."""
    values = column.astype(object)
    return ["" if v is None or (isinstance(v, float) and v != v) else str(v) for v in values]


def _matrix(adata, layer=None, var_column=None):
    x, var, where = _counts(adata, layer)
    data, indices, indptr, kind = _as_float32_csr_or_dense(x)
    m = _Matrix()
    m.data, m.indices, m.indptr = data, indices, indptr
    m.rows, m.cols = int(x.shape[0]), int(x.shape[1])
    genes = var[var_column] if var_column else var.index
    m.gene_ids = [str(g) for g in genes]
    m.cell_ids = [str(c) for c in adata.obs_names]
    m.obs = {str(c): _obs_text(adata.obs[c]) for c in adata.obs.columns}
    m.describe = "%s (%s)" % (where, kind)
    return m


def _options(kw):
    kw = {k: v for k, v in kw.items() if v is not None}
    kw["vocab_hint"] = _HERE
    return kw


def tokenize(adata, layer=None, var_column=None, min_gene_share=0.0, values=True, **options):
    """Rank-value tokens of every cell, as `cells import` makes them.

    Returns a dict: tokens (int32), values (float32) and offsets (int64; cell i is
    tokens[offsets[i]:offsets[i+1]]), cell_ids, labels, terms, and genes (the gene-mapping
    report; genes["text"] is the line `cells import` prints). Options: label_key, term_key,
    donor_key, tissue_key, assay_key, max_len, total ("vocab" | "all"), assume_normalized, threads.
    """
    return _sccello._tokenize(_matrix(adata, layer, var_column), min_gene_share, values, _options(options))


def _import_adata(self, adata, dataset, label_key=None, layer=None, var_column=None, **options):
    """Imports the AnnData's cells into the corpus as `dataset` (like `sccello cells import`)."""
    options.update(dataset=dataset, label_key=label_key)
    return _sccello._import_adata(self, _matrix(adata, layer, var_column), _options(options))


Store.import_adata = _import_adata


def _embedded(adata, checkpoint, index, layer, var_column, options):
    return _sccello._embed(_matrix(adata, layer, var_column), checkpoint, index, _options(options))


def embed(adata, checkpoint, key="X_sccello", batch_size=32, threads=0, layer=None, var_column=None, **options):
    """Cell embeddings from a checkpoint into adata.obsm[key] (what `sccello embed --h5ad` computes).

    Also sets adata.obs[key + "_prototype"] (the model's nearest label per cell) and
    adata.uns[key] (checkpoint, model id, gene mapping). Returns adata.
    """
    options.update(batch_size=batch_size, threads=threads)
    out = _embedded(adata, checkpoint, None, layer, var_column, options)
    adata.obsm[key] = out["embeddings"]
    adata.obs[key + "_prototype"] = out["predicted"]
    adata.uns[key] = {"checkpoint": str(checkpoint), "model_id": out["model_id"], "gene_mapping": out["genes"]["text"]}
    return adata


def _index(index, store):
    if isinstance(index, Index):
        return index
    if store is None:
        raise Error("give an Index (Store.index(name)) or a name with store=")
    return (store if isinstance(store, Store) else Store(store)).index(index)


def search(index, data, k=20, under=None, not_under=None, datasets=None, exact=False, store=None,
           checkpoint=None, names=None, **options):
    """Nearest reference cells of an index for each query cell, explained through the ontology.

    `data`: an AnnData (embedded with the index's checkpoint, like `sccello query --h5ad`) or an
    array of embeddings (cells x dims). Returns a pandas DataFrame: query, rank, dataset, cell_id,
    similarity, term_id, name, donor, tissue, relation, lca_id, distance, level.
    """
    index = _index(index, store)
    kw = dict(k=k, under=under, not_under=not_under, datasets=datasets, exact=exact, **options)
    if isinstance(data, np.ndarray):
        rows = np.ascontiguousarray(data, dtype=np.float32)
        names = list(names) if names is not None else [str(i) for i in range(rows.shape[0])]
        terms = [""] * rows.shape[0]
    else:
        out = _embedded(data, checkpoint or index.checkpoint, index, options.pop("layer", None),
                        options.pop("var_column", None), dict(options))
        rows, names, terms = out["embeddings"], list(data.obs_names), out["predicted"]
    return _sccello._search(index, rows, names, terms, _options(kw))


def annotate(adata, index, store=None, checkpoint=None, key="X_sccello", layer=None, var_column=None, **options):
    """Cell Ontology terms for each cell from a reference index (what `sccello annotate` writes).

    Fills adata.obs with the sccello_* columns of `sccello annotate` (sccello_term_id,
    sccello_term_name, sccello_score, ..., sccello_is_novel), adata.obsm[key] with the embeddings
    and adata.uns["sccello"] with the parameters. Options: k, min_support, exact, novel,
    novel_threshold, novel_under, novel_candidates, target, smooth, resolution,
    reference_datasets, reference_under, reference_not_under, batch_size, threads. Returns adata.
    """
    import pandas as pd
    index = _index(index, store)
    out = _embedded(adata, checkpoint or index.checkpoint, index, layer, var_column, dict(options))
    for name, kind, values in _sccello._annotate(index, out["embeddings"], out["predicted"], _options(options)):
        adata.obs[name] = pd.Categorical(values) if kind == "category" else values
    adata.obsm[key] = out["embeddings"]
    adata.uns["sccello"] = {"checkpoint": str(checkpoint or index.checkpoint), "model_id": out["model_id"],
                            "index": index.name, "release": index.release, "gene_mapping": out["genes"]["text"],
                            "parameters": {k: v for k, v in options.items() if v is not None}}
    return adata

#!/usr/bin/python3
"""Writes the bad-input corpus of tests/bad_input/bad_input_cli_test.cc into this folder.

Each file is minimised to show one defect (3 cells x 3 genes unless the defect needs more);
cases.tsv says which command runs on it and which words the error must contain. Needs Debian's
python3-h5py and python3-numpy (`apt-get install python3-h5py`); run from anywhere:
    /usr/bin/python3 tests/data/bad/make_bad_inputs.py
Not written here, kept as scripts/fuzz.sh found them: h5ad_libhdf5_crash.h5ad (libhdf5 1.10.8
segfaults in H5HG_read on its damaged global heap), h5ad_libhdf5_hang.h5ad (H5Aread spins in
H5T_convert), h5ad_libhdf5_oom.h5ad (libhdf5 allocates > 4 GB from a corrupt size): the CLI's
forked HDF5 check (store/formats/hdf5_guard.h) contains all three; tenx_h5_huge_extent.h5 (an
extent of 2^40 barcodes, refused before allocating by hdf5_util's read bound).
"""
import os
import sqlite3

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
GENES = [b"ENSG00000075624", b"ENSG00000111640", b"ENSG00000167996"]  # ACTB, GAPDH, FTH1
CELLS = [b"c0", b"c1", b"c2"]
# A valid 3 x 3 CSR matrix: c0 = {0: 3, 2: 1}, c1 = {1: 2}, c2 = {0: 5, 1: 1}.
INDPTR, INDICES, DATA = [0, 2, 3, 5], [0, 2, 1, 0, 1], [3.0, 1.0, 2.0, 5.0, 1.0]
VLEN = h5py.string_dtype("utf-8")


def path(name):
    return os.path.join(HERE, name)


def strings(values):
    return np.array(values, dtype=object)


def frame(f, name, index, columns=None):
    g = f.create_group(name)
    g.attrs["_index"] = "_index"
    g.attrs["encoding-type"] = "dataframe"
    g.attrs["encoding-version"] = "0.2.0"
    g.attrs.create("column-order", list(columns or {}), dtype=VLEN)
    g.create_dataset("_index", data=strings(index), dtype=VLEN)
    for col, values in (columns or {}).items():
        g.create_dataset(col, data=strings(values), dtype=VLEN)


def h5ad(name, indptr=INDPTR, indices=INDICES, data=DATA, shape=(3, 3), encoding="csr_matrix",
         cells=CELLS, obs_columns=None, dense=None):
    with h5py.File(path(name), "w") as f:
        f.attrs["encoding-type"] = "anndata"
        f.attrs["encoding-version"] = "0.1.0"
        if dense is not None:
            f.create_dataset("X", data=np.array(dense, dtype=np.float32))
        else:
            x = f.create_group("X")
            x.attrs["encoding-type"] = encoding
            x.attrs["encoding-version"] = "0.1.0"
            x.attrs["shape"] = np.array(shape, dtype=np.int64)
            x.create_dataset("indptr", data=np.array(indptr, dtype=np.int64))
            x.create_dataset("indices", data=np.array(indices, dtype=np.int32))
            x.create_dataset("data", data=np.array(data, dtype=np.float32))
        frame(f, "obs", cells, obs_columns)
        frame(f, "var", GENES)


def tenx_h5(name, indptr=INDPTR, indices=INDICES, data=DATA, barcodes=CELLS):
    with h5py.File(path(name), "w") as f:
        m = f.create_group("matrix")
        m.create_dataset("indptr", data=np.array(indptr, dtype=np.int64))
        m.create_dataset("indices", data=np.array(indices, dtype=np.int64))
        m.create_dataset("data", data=np.array(data, dtype=np.int32 if all(
            float(v).is_integer() for v in data) else np.float32))
        m.create_dataset("shape", data=np.array([3, 3], dtype=np.int32))
        m.create_dataset("barcodes", data=np.array(barcodes, dtype="S"))
        feats = m.create_group("features")
        feats.create_dataset("id", data=np.array(GENES, dtype="S"))
        feats.create_dataset("name", data=np.array([b"ACTB", b"GAPDH", b"FTH1"], dtype="S"))


def write(name, data):
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(path(name), mode) as f:
        f.write(data)


def mtx(name, matrix, barcodes=b"c0\nc1\nc2\n"):
    os.makedirs(path(name), exist_ok=True)
    write(name + "/matrix.mtx", matrix)
    write(name + "/features.tsv", b"".join(g + b"\t" + g + b"\tGene Expression\n" for g in GENES))
    write(name + "/barcodes.tsv", barcodes)


BANNER = b"%%MatrixMarket matrix coordinate integer general\n"
GOOD_ENTRIES = b"1 1 3\n3 1 1\n2 2 2\n1 3 5\n2 3 1\n"


def ontology_cases():
    head = "format-version: 1.2\ndata-version: releases/2024-01-01/cl-basic.owl\n\n"
    write("obo_is_a_cycle.obo", head + "[Term]\nid: CL:0000001\nname: a\nis_a: CL:0000002\n\n"
          "[Term]\nid: CL:0000002\nname: b\nis_a: CL:0000001\n")
    write("obo_bad_utf8_name.obo", head.encode() + b"[Term]\nid: CL:0000001\nname: caf\xe9 cell\n")
    write("obo_bad_utf8_data_version.obo",
          b"format-version: 1.2\ndata-version: \xc3\x28\n\n[Term]\nid: CL:0000001\nname: a\n")
    write("obo_overlong_utf8.obo", head.encode() + b"[Term]\nid: CL:0000001\nname: \xc0\xaf\n")
    write("obo_unterminated_quote.obo", head + "[Term]\nid: CL:0000001\ndef: \"never closed []\n")
    write("obo_nul_byte.obo", head.encode() + b"[Term]\nid: CL:0000001\nname: a\x00b\n")
    write("cxg_number_overflow.json",
          '{"CL:0000001": {"label": "a", "deprecated": false, "ancestors": {"CL:0000002": 1e999}}}\n')
    write("cxg_bad_utf8_label.json", b'{"CL:0000001": {"label": "caf\xe9", "ancestors": {}}}\n')
    write("cxg_is_a_cycle.json", '{"CL:0000001": {"label": "a", "ancestors": {"CL:0000002": 1}},\n'
          ' "CL:0000002": {"label": "b", "ancestors": {"CL:0000001": 1}}}\n')
    write("cxg_label_not_string.json", '{"CL:0000001": {"label": 5, "ancestors": {}}}\n')
    write("cxg_truncated.json", '{"CL:0000001": {"label": "a", "ancestors": {"CL:00')


def h5ad_cases():
    h5ad("h5ad_indptr_decreasing.h5ad", indptr=[0, 3, 2, 5])
    h5ad("h5ad_indptr_not_from_zero.h5ad", indptr=[1, 2, 3, 5])
    h5ad("h5ad_indptr_end_mismatch.h5ad", indptr=[0, 2, 3, 4])
    h5ad("h5ad_indptr_wrong_length.h5ad", indptr=[0, 2, 5])
    h5ad("h5ad_index_out_of_range.h5ad", indices=[0, 2, 1, 0, 7])
    h5ad("h5ad_index_negative.h5ad", indices=[0, -1, 1, 0, 1])
    h5ad("h5ad_duplicate_column.h5ad", indices=[0, 0, 1, 0, 1])
    h5ad("h5ad_nan_count.h5ad", data=[3.0, float("nan"), 2.0, 5.0, 1.0])
    h5ad("h5ad_inf_count.h5ad", data=[3.0, 1.0, float("inf"), 5.0, 1.0])
    h5ad("h5ad_negative_count.h5ad", data=[3.0, 1.0, 2.0, -5.0, 1.0])
    h5ad("h5ad_shape_negative.h5ad", shape=(-3, 3))
    h5ad("h5ad_data_shorter_than_indices.h5ad", data=[3.0, 1.0, 2.0, 5.0])
    # CSC over genes: column g lists its cells. Valid would be indptr [0, 2, 4, 5], rows [0, 2, 1, 2, 0].
    h5ad("h5ad_csc_indptr_decreasing.h5ad", encoding="csc_matrix", indptr=[0, 4, 2, 5],
         indices=[0, 2, 1, 2, 0], data=[3, 5, 2, 1, 1])
    h5ad("h5ad_csc_duplicate_entry.h5ad", encoding="csc_matrix", indptr=[0, 2, 4, 5],
         indices=[0, 0, 1, 2, 0], data=[3, 5, 2, 1, 1])
    h5ad("h5ad_dense_nan.h5ad", dense=[[3, 0, 1], [0, float("nan"), 0], [5, 1, 0]])
    h5ad("h5ad_bad_utf8_cell_id.h5ad", cells=[b"c0", b"c\xff1", b"c2"])
    h5ad("h5ad_bad_utf8_label.h5ad", obs_columns={"cell_type": [b"T cell", b"B \xe9 cell", b"NK"]})


def tenx_cases():
    tenx_h5("tenx_indptr_decreasing.h5", indptr=[0, 3, 2, 5])
    tenx_h5("tenx_indptr_wrong_length.h5", indptr=[0, 2, 3, 5, 5])
    tenx_h5("tenx_index_out_of_range.h5", indices=[0, 2, 1, 0, 9])
    tenx_h5("tenx_duplicate_gene.h5", indices=[0, 2, 1, 1, 1])
    tenx_h5("tenx_nan_count.h5", data=[3.0, float("nan"), 2.0, 5.0, 1.0])
    tenx_h5("tenx_bad_utf8_barcode.h5", barcodes=[b"c0", b"c1", b"\xfe\xff"])
    mtx("mtx_bad_banner", b"%%MatrixMarket matrix array real general\n3 3 5\n" + GOOD_ENTRIES)
    mtx("mtx_bad_size_line", BANNER + b"3 3\n" + GOOD_ENTRIES)
    mtx("mtx_value_abc", BANNER + b"3 3 5\n1 1 3\n3 1 abc\n2 2 2\n1 3 5\n2 3 1\n")
    mtx("mtx_too_few_entries", BANNER + b"3 3 6\n" + GOOD_ENTRIES)
    mtx("mtx_too_many_entries", BANNER + b"3 3 4\n" + GOOD_ENTRIES)
    mtx("mtx_duplicate_entry", BANNER + b"3 3 5\n1 1 3\n1 1 1\n2 2 2\n1 3 5\n2 3 1\n")
    mtx("mtx_out_of_range", BANNER + b"3 3 5\n1 1 3\n4 1 1\n2 2 2\n1 3 5\n2 3 1\n")
    mtx("mtx_negative_value", BANNER.replace(b"integer", b"real") + b"3 3 5\n1 1 3\n3 1 -1\n2 2 2\n1 3 5\n2 3 1\n")
    mtx("mtx_nan_value", BANNER.replace(b"integer", b"real") + b"3 3 5\n1 1 3\n3 1 nan\n2 2 2\n1 3 5\n2 3 1\n")
    mtx("mtx_bad_utf8_barcode", BANNER + b"3 3 5\n" + GOOD_ENTRIES, barcodes=b"c0\nc\xc31\nc2\n")


def store_cases():
    for name in ("store_foreign_tables.sqlite", "store_kv_without_format.sqlite"):
        if os.path.exists(path(name)):
            os.remove(path(name))
    db = sqlite3.connect(path("store_foreign_tables.sqlite"))
    db.execute("CREATE TABLE people(name TEXT)")
    db.execute("INSERT INTO people VALUES ('ada')")
    db.commit()
    db.close()
    db = sqlite3.connect(path("store_kv_without_format.sqlite"))
    db.execute("CREATE TABLE kv(k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID")
    db.execute("INSERT INTO kv VALUES (x'6b', x'76')")
    db.commit()
    db.close()


if __name__ == "__main__":
    ontology_cases()
    h5ad_cases()
    tenx_cases()
    store_cases()

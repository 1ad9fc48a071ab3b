#!/usr/bin/env python3
"""Builds a large .h5ad by resampling the cells of an existing one (with replacement), for the
peak-memory benchmark of `cells import`. Not committed data: written where you say.

usage: make_resampled_h5ad.py SOURCE.h5ad OUT.h5ad N_CELLS [SEED]
Writes X as CSR float32 (anndata 0.8 layout), obs (_index unique "<barcode>-r<i>", cell_type and
cell_type_ontology_term_id categoricals copied) and var copied. Needs python3-numpy, python3-h5py.
"""
import sys
import h5py, numpy as np

def copy_attrs(src, dst):
    for k, v in src.attrs.items():
        dst.attrs[k] = v

def main():
    src_path, out_path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rng = np.random.default_rng(int(sys.argv[4]) if len(sys.argv) > 4 else 237)
    s = h5py.File(src_path, "r")
    indptr = s["X/indptr"][:]
    data, indices = s["X/data"][:], s["X/indices"][:]
    pick = rng.integers(0, len(indptr) - 1, size=n)
    lens = indptr[pick + 1] - indptr[pick]
    out_ptr = np.zeros(n + 1, dtype=np.int64); np.cumsum(lens, out=out_ptr[1:])
    with h5py.File(out_path, "w") as o:
        copy_attrs(s, o)
        x = o.create_group("X"); copy_attrs(s["X"], x)
        x.attrs["shape"] = np.array([n, s["X"].attrs["shape"][1]])
        d = x.create_dataset("data", shape=(out_ptr[-1],), dtype="f4", chunks=(1 << 20,))
        ix = x.create_dataset("indices", shape=(out_ptr[-1],), dtype="i4", chunks=(1 << 20,))
        x.create_dataset("indptr", data=out_ptr)
        step = 4096
        for a in range(0, n, step):
            rows = pick[a:a + step]
            seg_d = np.concatenate([data[indptr[r]:indptr[r + 1]] for r in rows])
            seg_i = np.concatenate([indices[indptr[r]:indptr[r + 1]] for r in rows])
            d[out_ptr[a]:out_ptr[a] + len(seg_d)] = seg_d
            ix[out_ptr[a]:out_ptr[a] + len(seg_i)] = seg_i
        s.copy("var", o)
        obs = o.create_group("obs"); copy_attrs(s["obs"], obs)
        idx_name = s["obs"].attrs["_index"]
        ids = s["obs"][idx_name][:]
        obs.create_dataset(idx_name, data=np.array([ids[r] + b"-r%d" % i for i, r in enumerate(pick)], dtype=object),
                           dtype=h5py.string_dtype())
        keep = [c for c in ("cell_type", "cell_type_ontology_term_id") if c in s["obs"]]
        obs.attrs["column-order"] = np.array(keep, dtype=object)
        for c in keep:
            g = obs.create_group(c); copy_attrs(s["obs"][c], g)
            g.create_dataset("categories", data=s["obs"][c]["categories"][:], dtype=h5py.string_dtype())
            g.create_dataset("codes", data=s["obs"][c]["codes"][:][pick])
    print(f"wrote {out_path}: {n} cells, {out_ptr[-1]} nonzeros")

if __name__ == "__main__":
    main()

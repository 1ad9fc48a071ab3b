// sccello.tokenize and Store.import_adata: an AnnData's matrix (borrowed, read block by block)
// through the `cells import` pipeline (store/cells/): same gene mapping, tokenizer and report.
#include "cli/python/py_cells.h"

#include "cli/python/py_store.h"
#include "store/cells/cell_import.h"
#include "store/cells/tokenized_file.h"
#include "store/cells/vocab_image.h"
#include "store/release_store.h"

namespace sccello::python {

CellImportOptions import_options(const py::dict& kw) {
  CellImportOptions o;
  auto text = [&](const char* key, std::string* out) {
    if (kw.contains(key) && !kw[key].is_none()) *out = kw[key].cast<std::string>();
  };
  text("dataset", &o.dataset);
  text("label_key", &o.label_column);
  text("term_key", &o.term_column);
  text("donor_key", &o.donor_column);
  text("tissue_key", &o.tissue_column);
  text("assay_key", &o.assay_column);
  std::string total = "vocab";
  text("total", &total);
  if (total != "vocab" && total != "all") throw Error(Status::invalid("--total must be vocab or all"));
  o.tokenizer.total_over_all_genes = total == "all";
  if (kw.contains("max_len")) o.tokenizer.max_len = kw["max_len"].cast<int32_t>();
  if (kw.contains("assume_normalized")) o.assume_normalized = kw["assume_normalized"].cast<bool>();
  if (kw.contains("replace")) o.replace = kw["replace"].cast<bool>();
  if (kw.contains("threads")) o.threads = kw["threads"].cast<int>();
  return o;
}

std::string vocab_hint(const py::dict& kw) {
  return kw.contains("vocab_hint") ? kw["vocab_hint"].cast<std::string>() : "";
}

std::unique_ptr<CellMatrixReader> open_reader(const PyMatrix& m) {
  MatrixAnnotations a;
  a.gene_ids = m.gene_ids;
  a.cell_ids = m.cell_ids;
  a.obs = m.obs;
  a.describe = m.describe;
  return take(open_memory_matrix(borrow(m), std::move(a)));
}

TokenizedFile tokenize_matrix(const PyMatrix& m, const CellImportOptions& import, double min_gene_share,
                              bool keep_values, const std::string& hint) {
  TokenizeFileOptions options;
  options.import = import;
  options.min_gene_share = min_gene_share;
  options.keep_values = keep_values;
  options.vocab_dir = hint;
  std::unique_ptr<CellMatrixReader> reader = open_reader(m);
  return take(without_gil([&] { return tokenize_cells(*reader, m.describe, options); }));
}

py::dict gene_report(const GeneMapReport& g) {
  py::dict d;
  d["genes_in_file"] = g.genes_in_file, d["mapped"] = g.mapped, d["not_in_vocab"] = g.not_in_vocab;
  d["unknown_symbol"] = g.unknown_symbol, d["duplicate"] = g.duplicate, d["empty_id"] = g.empty_id;
  d["text"] = describe_gene_mapping(g);
  return d;
}

namespace {

// Ragged per-cell lists as one flat numpy array plus offsets (cell i: flat[offsets[i]:offsets[i+1]]).
template <typename T>
py::array_t<T> flatten(const std::vector<std::vector<T>>& cells, std::vector<int64_t>* offsets) {
  std::vector<T> flat;
  offsets->assign(1, 0);
  for (const auto& c : cells) {
    flat.insert(flat.end(), c.begin(), c.end());
    offsets->push_back(static_cast<int64_t>(flat.size()));
  }
  const auto n = static_cast<py::ssize_t>(flat.size());
  return to_numpy(std::move(flat), {n});
}

py::dict tokenize(const PyMatrix& m, double min_gene_share, bool values, const py::dict& kw) {
  TokenizedFile file = tokenize_matrix(m, import_options(kw), min_gene_share, values, vocab_hint(kw));
  std::vector<int64_t> offsets;
  py::dict out;
  out["tokens"] = flatten(file.tokens, &offsets);
  if (values) out["values"] = flatten(file.values, &offsets);
  const auto n = static_cast<py::ssize_t>(offsets.size());
  out["offsets"] = to_numpy(std::move(offsets), {n});
  out["cell_ids"] = file.ids, out["labels"] = file.labels, out["terms"] = file.terms;
  out["genes"] = gene_report(file.report.genes);
  out["matrix"] = file.report.matrix;
  return out;
}

py::dict import_adata(const PyStore& store, const PyMatrix& m, const py::dict& kw) {
  if (store.s->read_only())
    throw Error(Status::invalid("store " + store.s->path() + " is open read-only: open it with sccello.Store(path, writable=True)"));
  CellImportOptions o = import_options(kw);
  const std::string vocab_dir = kw.contains("vocab") ? kw["vocab"].cast<std::string>() : "";
  GeneVocab vocab = take(GeneVocab::load_cached(vocab_dir.empty() ? take(GeneVocab::locate(vocab_hint(kw))) : vocab_dir, user_cache_dir()));
  bool have_release = false;
  const std::string release = kw.contains("release") && !kw["release"].is_none() ? kw["release"].cast<std::string>() : "";
  auto terms = take(release_term_ids(*store.s, release, &have_release));
  if (have_release) o.known_terms = &terms;
  std::unique_ptr<CellMatrixReader> reader = open_reader(m);
  CellImportReport r = take(without_gil([&] { return import_cells(*store.s, vocab, *reader, m.describe, o); }));
  py::dict out;
  out["dataset"] = r.info.name, out["cells"] = r.info.num_cells, out["tokens"] = r.info.num_tokens;
  out["matrix"] = r.matrix, out["genes"] = gene_report(r.genes);
  out["unmapped_cells"] = r.unmapped_cells, out["unmapped_labels"] = r.unmapped_labels;
  out["cells_per_term"] = r.cells_per_term, out["warnings"] = r.warnings;
  out["terms_checked"] = have_release;
  return out;
}

}  // namespace

void bind_cells(py::module_& m) {
  m.def("_tokenize", &tokenize, py::arg("matrix"), py::arg("min_gene_share"), py::arg("values"), py::arg("options"));
  m.def("_import_adata", &import_adata, py::arg("store"), py::arg("matrix"), py::arg("options"));
}

}  // namespace sccello::python

// sccello.embed / search / annotate: an AnnData's cells embedded with a checkpoint (model/,
// LibTorch) and searched or annotated through a reference index (model/search, model/annotate):
// the calls `sccello embed --h5ad`, `sccello query --h5ad` and `sccello annotate` make.
#include <thread>

#include "cli/python/py_cells.h"
#include "cli/python/py_store.h"
#include "model/annotate/annotation.h"
#include "model/annotate_job.h"
#include "model/cell_embedder.h"

namespace sccello::python {
namespace {

int thread_count(const py::dict& kw) {
  const int threads = kw.contains("threads") ? kw["threads"].cast<int>() : 0;
  return threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// embed(matrix, checkpoint, index=None, **options): the cells' embeddings, the model's prototype
// term per cell and the gene-mapping report. With an index: refuses a checkpoint of another model.
py::dict embed(const PyMatrix& m, const std::string& checkpoint, const py::object& index_or_none,
               const py::dict& kw) {
  const PyIndex* index = index_or_none.is_none() ? nullptr : index_or_none.cast<std::shared_ptr<PyIndex>>().get();
  const int threads = thread_count(kw);
  EmbedOptions eo;
  if (kw.contains("batch_size")) eo.batch_size = kw["batch_size"].cast<int64_t>();
  if (kw.contains("bf16")) eo.bf16 = kw["bf16"].cast<bool>();
  if (eo.batch_size < 1)
    throw Error(Status::invalid("--batch-size must be at least 1 (cells per batch), not " + std::to_string(eo.batch_size)));
  auto model = take(without_gil([&] { return CheckpointEmbedder::open(checkpoint, threads, eo); }));
  if (index) check(check_same_model(index->index->info(), model->identity()));
  CellImportOptions import = import_options(kw);
  import.threads = threads;
  const double min_share = kw.contains("min_gene_share") ? kw["min_gene_share"].cast<double>() : 0.2;
  TokenizedFile file = tokenize_matrix(m, import, min_share, false, vocab_hint(kw));
  std::vector<float> embeddings = take(without_gil([&] { return model->embedder()(file.tokens); }));
  std::vector<TermId> predicted = take(without_gil([&] { return model->predicted_terms(embeddings); }));
  const int64_t dims = model->identity().dims;
  const auto rows = static_cast<py::ssize_t>(file.ids.size());
  py::dict out;
  out["embeddings"] = to_numpy(std::move(embeddings), {rows, static_cast<py::ssize_t>(dims)});
  out["predicted"] = predicted, out["cell_ids"] = file.ids, out["terms"] = file.terms;
  out["model_id"] = model->identity().id, out["genes"] = gene_report(file.report.genes);
  return out;
}

std::vector<float> rows_of(const py::array_t<float, py::array::c_style | py::array::forcecast>& a, int64_t dims) {
  if (a.ndim() != 2 || a.shape(1) != dims)
    throw Error(Status::invalid("embeddings must be a (cells, " + std::to_string(dims) + ") array"));
  return std::vector<float>(a.data(), a.data() + a.size());
}

py::object search(const PyIndex& index, const py::array_t<float, py::array::c_style | py::array::forcecast>& rows,
                  const std::vector<std::string>& names, const std::vector<std::string>& terms, const py::dict& kw) {
  std::vector<float> values = rows_of(rows, index.index->info().model.dims);
  QueryOptions o;
  if (kw.contains("k")) o.k = kw["k"].cast<int64_t>();
  if (kw.contains("exact")) o.exact = kw["exact"].cast<bool>();
  if (kw.contains("ef")) o.ef = kw["ef"].cast<int64_t>();
  o.filters = query_filters(kw);
  auto results = take(without_gil([&] { return index.search->by_vectors(values, terms, names, o); }));
  return results_frame(results);
}

AnnotateOptions annotate_options(const py::dict& kw) {
  AnnotateOptions o;
  if (kw.contains("k")) o.k = kw["k"].cast<int64_t>();
  if (kw.contains("min_support")) o.min_support = kw["min_support"].cast<double>();
  if (kw.contains("exact")) o.exact = kw["exact"].cast<bool>();
  if (kw.contains("novel")) o.novel = kw["novel"].cast<bool>();
  if (kw.contains("novel_threshold")) o.novel_threshold = kw["novel_threshold"].cast<double>();
  if (kw.contains("novel_under") && !kw["novel_under"].is_none()) o.novel_under = kw["novel_under"].cast<std::string>();
  if (kw.contains("novel_candidates")) o.novel_candidates = kw["novel_candidates"].cast<int64_t>();
  if (kw.contains("target")) o.target = kw["target"].cast<std::string>();
  if (kw.contains("smooth")) o.smooth = kw["smooth"].cast<bool>();
  if (kw.contains("resolution")) o.smooth_resolution = kw["resolution"].cast<double>();
  o.threads = thread_count(kw);
  py::dict filters;
  for (const char* key : {"reference_datasets", "reference_under", "reference_not_under"})
    if (kw.contains(key)) filters[py::str(std::string(key).substr(10))] = kw[key];
  o.filters = query_filters(filters);
  return o;
}

// The obs columns of `sccello annotate` as {name: (kind, values)}; kind: category|float|bool|string.
py::list annotate(const PyIndex& index, const py::array_t<float, py::array::c_style | py::array::forcecast>& rows,
                  const std::vector<std::string>& predicted, const py::dict& kw) {
  std::vector<float> values = rows_of(rows, index.index->info().model.dims);
  const AnnotateOptions o = annotate_options(kw);
  auto calls = take(without_gil([&] { return annotate_cells(*index.search, values, {}, o); }));
  py::list out;
  for (ObsColumn& c : annotation_obs_columns(calls, predicted, o.smooth)) {
    using K = ObsColumn::Kind;
    const auto n = static_cast<py::ssize_t>(calls.size());
    if (c.kind == K::kFloat) out.append(py::make_tuple(c.name, "float", to_numpy(std::move(c.numbers), {n})));
    else if (c.kind == K::kBool) out.append(py::make_tuple(c.name, "bool", to_numpy(std::move(c.flags), {n}).attr("astype")("bool")));
    else out.append(py::make_tuple(c.name, c.kind == K::kCategorical ? "category" : "string", py::cast(c.text)));
  }
  return out;
}

}  // namespace

void bind_model(py::module_& m) {
  m.def("_embed", &embed, py::arg("matrix"), py::arg("checkpoint"), py::arg("index"), py::arg("options"));
  m.def("_search", &search, py::arg("index"), py::arg("embeddings"), py::arg("names"), py::arg("terms"), py::arg("options"));
  m.def("_annotate", &annotate, py::arg("index"), py::arg("embeddings"), py::arg("predicted"), py::arg("options"));
}

}  // namespace sccello::python

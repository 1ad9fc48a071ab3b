// Shared pieces of the `sccello` Python module (cli/python/): Status -> sccello.Error, Result
// unwrapping, zero-copy numpy arrays over C++ vectors, pandas frames, and the AnnData matrix
// handed over from Python. Each py_*.cc binds one area; none holds logic of its own.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "graph/status.h"
#include "store/cells/memory_matrix.h"
#include "store/store.h"

namespace sccello::python {

namespace py = pybind11;

// Thrown by the bindings, raised in Python as sccello.Error with the Status message (the text
// `sccello` prints after "sccello: error: ").
class Error : public std::runtime_error {
 public:
  explicit Error(const Status& s) : std::runtime_error(s.message()) {}
};

inline void check(const Status& s) {
  if (!s.is_ok()) throw Error(s);
}
template <typename T>
T take(Result<T> r) {
  if (!r.is_ok()) throw Error(r.status());
  return std::move(r).value();
}
// Runs `f` with the GIL released; its result comes back once the GIL is held again.
template <typename F>
auto without_gil(F&& f) {
  py::gil_scoped_release nogil;
  return f();
}

// A numpy array over the vector's memory (moved, not copied); the array owns it.
template <typename T>
py::array_t<T> to_numpy(std::vector<T>&& values, std::vector<py::ssize_t> shape) {
  auto* owned = new std::vector<T>(std::move(values));
  py::capsule free_when_done(owned, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>(shape, owned->data(), free_when_done);
}

// pandas.DataFrame(columns) with the columns in the order given.
py::object data_frame(const std::vector<std::pair<std::string, py::object>>& columns);

// A store shared by the objects opened from it (ontologies, targets, indexes).
using SharedStore = std::shared_ptr<Store>;

// X (or raw.X / a layer) of an AnnData as sccello/__init__.py hands it over: float32 CSR
// (int32 indices, int32/int64 indptr) or a C-contiguous float32 dense array, plus var ids, obs
// names and obs columns as text. Borrowed: the arrays stay owned by Python.
struct PyMatrix {
  py::object data, indices, indptr;  // numpy arrays; indices/indptr None for dense
  int64_t rows = 0, cols = 0;
  std::vector<std::string> gene_ids, cell_ids;
  std::map<std::string, std::vector<std::string>> obs;
  std::string describe;
};
// The borrowed view the readers use. REQUIRES: the PyMatrix outlives it.
BorrowedMatrix borrow(const PyMatrix& m);

void bind_store(py::module_& m);
void bind_cells(py::module_& m);
void bind_model(py::module_& m);

}  // namespace sccello::python

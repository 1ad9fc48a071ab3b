// The `sccello._sccello` extension module: registers sccello.Error and the bindings of each area.
#include "cli/python/py_common.h"

namespace sccello::python {

py::object data_frame(const std::vector<std::pair<std::string, py::object>>& columns) {
  py::dict data;
  py::list order;
  for (const auto& [name, values] : columns) {
    data[py::str(name)] = values;
    order.append(name);
  }
  return py::module_::import("pandas").attr("DataFrame")(data, py::arg("columns") = order);
}

namespace {

// The array's memory as T, or an error when it is not a C-contiguous T array (never converted).
template <typename T>
const T* typed(const py::object& o, const char* what, const std::string& source) {
  if (o.is_none()) return nullptr;
  if (!py::isinstance<py::array_t<T>>(o) ||
      !(py::reinterpret_borrow<py::array>(o).flags() & py::array::c_style))
    throw Error(Status::invalid(source + ": " + what + " must be a C-contiguous " +
                                py::str(py::dtype::of<T>()).cast<std::string>() + " array"));
  return static_cast<const T*>(py::reinterpret_borrow<py::array>(o).data());
}

int64_t size_of(const py::object& o) { return static_cast<int64_t>(py::reinterpret_borrow<py::array>(o).size()); }

}  // namespace

BorrowedMatrix borrow(const PyMatrix& m) {
  BorrowedMatrix b;
  b.rows = m.rows;
  b.cols = m.cols;
  b.data = typed<float>(m.data, "data", m.describe);
  if (m.indptr.is_none()) {
    if (size_of(m.data) != m.rows * m.cols)
      throw Error(Status::invalid(m.describe + ": a dense matrix needs rows x cols values"));
    return b;
  }
  b.indices = typed<int32_t>(m.indices, "indices", m.describe);
  b.nnz = size_of(m.data);
  if (size_of(m.indices) != b.nnz) throw Error(Status::invalid(m.describe + ": indices and data differ in length"));
  if (size_of(m.indptr) != m.rows + 1) throw Error(Status::invalid(m.describe + ": indptr needs rows + 1 entries"));
  if (py::isinstance<py::array_t<int64_t>>(m.indptr)) b.indptr64 = typed<int64_t>(m.indptr, "indptr", m.describe);
  else b.indptr32 = typed<int32_t>(m.indptr, "indptr", m.describe);
  return b;
}

}  // namespace sccello::python

PYBIND11_MODULE(_sccello, m) {
  namespace sp = sccello::python;
  namespace py = pybind11;
  m.doc() = "sccello: ontology-guided single-cell foundation model engine (C++ bindings)";
  static py::exception<sp::Error> error(m, "Error", PyExc_RuntimeError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const sp::Error& e) {
      PyErr_SetString(error.ptr(), e.what());
    }
  });
  py::class_<sp::PyMatrix>(m, "_Matrix")
      .def(py::init<>())
      .def_readwrite("data", &sp::PyMatrix::data)
      .def_readwrite("indices", &sp::PyMatrix::indices)
      .def_readwrite("indptr", &sp::PyMatrix::indptr)
      .def_readwrite("rows", &sp::PyMatrix::rows)
      .def_readwrite("cols", &sp::PyMatrix::cols)
      .def_readwrite("gene_ids", &sp::PyMatrix::gene_ids)
      .def_readwrite("cell_ids", &sp::PyMatrix::cell_ids)
      .def_readwrite("obs", &sp::PyMatrix::obs)
      .def_readwrite("describe", &sp::PyMatrix::describe);
  sp::bind_store(m);
  sp::bind_cells(m);
  sp::bind_model(m);
}

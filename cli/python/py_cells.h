// Cell tokenization for the Python module (py_cells.cc), shared with py_model.cc: import options
// from keyword arguments, and the tokens of a borrowed AnnData matrix.
#pragma once

#include "cli/python/py_common.h"
#include "store/cells/cell_import.h"
#include "store/cells/tokenized_file.h"

namespace sccello::python {

// label_key, term_key, donor_key, tissue_key, assay_key, dataset, total, max_len,
// assume_normalized, replace, threads.
CellImportOptions import_options(const py::dict& kw);
// Tokenizes the matrix as `cells import` would (GIL released); refuses poor gene mapping.
TokenizedFile tokenize_matrix(const PyMatrix& m, const CellImportOptions& import, double min_gene_share,
                              bool keep_values, const std::string& hint);
// Where the vocabulary is looked for besides SCCELLO_DATA_DIR (kw "vocab_hint": the package folder).
std::string vocab_hint(const py::dict& kw);
// The gene-mapping report as a dict (counts and the line `cells import` prints, under "text").
py::dict gene_report(const GeneMapReport& genes);

}  // namespace sccello::python

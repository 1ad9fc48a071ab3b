// Element writers of the AnnData on-disk format (anndata >= 0.8) over the HDF5 C API: string
// attributes, encoding-type/-version, string arrays and dataframes. Shared by the embedding writer
// (model/h5ad_writer) and the test-fixture writer (store/h5ad_writer). Each returns false on an HDF5
// error; the caller turns that into a Status naming the file. Stateless.
#pragma once

#include <hdf5.h>

#include <string>
#include <utility>
#include <vector>

namespace sccello::anndata {

using Columns = std::vector<std::pair<std::string, std::vector<std::string>>>;

bool string_attr(hid_t obj, const char* name, const std::string& value);
bool string_array_attr(hid_t obj, const char* name, const std::vector<std::string>& values);
// encoding-type and encoding-version attributes.
bool encode(hid_t obj, const char* type, const char* version);
// A variable-length UTF-8 string dataset encoded as "string-array".
bool string_dataset(hid_t parent, const std::string& name, const std::vector<std::string>& values);
// A "dataframe" group: `_index` (unless with_index is false) and string columns in order.
bool dataframe(hid_t file, const char* name, const std::vector<std::string>& index, const Columns& columns,
               bool with_index = true);
// An empty group encoded as "dict" (uns, layers, obsm, ...).
bool empty_dict(hid_t file, const char* name);

}  // namespace sccello::anndata

#include "store/cells/gene_vocab.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <unistd.h>

#include "store/cells/vocab_image.h"
#include "store/text_lines.h"

namespace sccello {

std::string strip_ensembl_version(const std::string& id) {
  if (!looks_like_ensembl(id)) return id;
  size_t dot = id.find('.');
  return dot == std::string::npos ? id : id.substr(0, dot);
}

bool looks_like_ensembl(std::string_view id) {
  return id.size() > 4 && id.compare(0, 3, "ENS") == 0;
}

namespace {

// Calls fn(line, number) for each line of `text` (1-based numbers) without its '\n' and '\r';
// stops early when fn returns a non-ok Status, and returns it.
template <class Fn>
Status for_each_numbered_line(std::string_view text, Fn fn) {
  int64_t number = 0;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    SCCELLO_RETURN_IF_ERROR(fn(line, ++number));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return Status::ok();
}

Status bad_line(const std::string& path, int64_t line, const std::string& what) {
  return Status::corruption("'" + path + "' line " + std::to_string(line) + ": " + what);
}

// Calls fn(line) for each line of `text`, as for_each_numbered_line.
template <class Fn>
void for_each_line(std::string_view text, Fn fn) {
  for_each_numbered_line(text, [&](std::string_view line, int64_t) {
    fn(line);
    return Status::ok();
  });
}

// The first two `sep`-separated fields of a line ("" when absent).
std::pair<std::string_view, std::string_view> first_two_fields(std::string_view line, char sep) {
  const size_t a = line.find(sep);
  if (a == std::string_view::npos) return {line, {}};
  std::string_view rest = line.substr(a + 1);
  return {line.substr(0, a), rest.substr(0, rest.find(sep))};
}

bool has_tab(std::string_view line) { return line.find('\t') != std::string_view::npos; }

}  // namespace

Status GeneVocab::read_tokens(const std::string& path) {
  auto text = std::make_shared<std::string>();
  SCCELLO_RETURN_IF_ERROR(read_text_file(path, text.get()));
  tokens_text_ = text;
  ids_.assign(kCls + 1, "");
  ids_[kCls] = "<cls>";
  std::vector<std::pair<std::string_view, int32_t>> pairs;
  pairs.reserve(kCls);
  int32_t count = 0;
  SCCELLO_RETURN_IF_ERROR(for_each_numbered_line(*text, [&](std::string_view line, int64_t number) {
    if (number == 1 || line.empty()) return Status::ok();  // header
    auto [id, value] = first_two_fields(line, '\t');
    int32_t token = -1;
    if (!has_tab(line) || std::from_chars(value.data(), value.data() + value.size(), token).ec != std::errc())
      return bad_line(path, number, "expected gene_id<TAB>token_id");
    if (token < 0 || token >= kCls) return bad_line(path, number, "token id out of range 0..25425");
    ids_[token] = std::string(id);
    pairs.emplace_back(id, token);
    ++count;
    return Status::ok();
  }));
  token_by_id_.emplace_all(pairs.begin(), pairs.end());
  if (count != kCls) return Status::corruption("'" + path + "': expected 25426 tokens, found " + std::to_string(count));
  return Status::ok();
}

Status GeneVocab::read_medians(const std::string& path) {
  std::string text;
  SCCELLO_RETURN_IF_ERROR(read_text_file(path, &text));
  medians_.assign(kCls + 1, 0.0);
  SCCELLO_RETURN_IF_ERROR(for_each_numbered_line(text, [&](std::string_view line, int64_t number) {
    if (number == 1 || line.empty()) return Status::ok();
    if (!has_tab(line)) return bad_line(path, number, "expected gene_id<TAB>nonzero_median");
    auto [id, value] = first_two_fields(line, '\t');
    int32_t token = token_of(id);
    if (token < 0) return Status::ok();
    // strtod stops at the field's tab or newline; an empty field would let it skip ahead
    medians_[token] = value.empty() ? 0.0 : std::strtod(value.data(), nullptr);
    if (!(medians_[token] > 0)) return bad_line(path, number, "median must be positive");
    return Status::ok();
  }));
  for (int32_t t = 2; t < kCls; ++t)
    if (medians_[t] <= 0) return Status::corruption("'" + path + "': no median for " + ids_[t]);
  return Status::ok();
}

namespace {

// gene_symbol_to_ensembl.tsv: symbol<TAB>ensembl_id, a header line. Calls fn(symbol, id).
template <class Fn>
void for_each_symbol(std::string_view text, Fn fn) {
  bool header = true;
  for_each_line(text, [&](std::string_view line) {
    if (header) { header = false; return; }
    auto [symbol, id] = first_two_fields(line, '\t');
    if (!symbol.empty() && !id.empty()) fn(symbol, id);
  });
}

// genes_homo_sapiens_gencode_v48.csv.gz: ensembl_id(.version),symbol,... Calls fn(symbol, id)
// with the id's version stripped.
template <class Fn>
void for_each_gencode(std::string_view text, Fn fn) {
  for_each_line(text, [&](std::string_view line) {
    auto [versioned, symbol] = first_two_fields(line, ',');
    if (symbol.empty() || !looks_like_ensembl(versioned)) return;
    fn(symbol, versioned.substr(0, versioned.find('.')));
  });
}

}  // namespace

const GeneVocab::SymbolTables& GeneVocab::symbols() const {
  std::call_once(symbols_->once, [this] {
    SymbolTables& t = *symbols_;
    t.status = read_text_file(dir_ + "/gene_symbol_to_ensembl.tsv", &t.symbols_text);
    if (t.status.is_ok()) t.status = read_text_file(dir_ + "/genes_homo_sapiens_gencode_v48.csv.gz", &t.gencode_text);
    if (!t.status.is_ok()) return;
    std::vector<std::pair<std::string_view, std::string_view>> pairs;
    pairs.reserve(80000);
    for_each_symbol(t.symbols_text, [&](std::string_view s, std::string_view id) { pairs.emplace_back(s, id); });
    t.ensembl_by_symbol.emplace_all(pairs.begin(), pairs.end());
    pairs.clear();
    for_each_gencode(t.gencode_text, [&](std::string_view s, std::string_view id) { pairs.emplace_back(s, id); });
    t.gencode_by_symbol.emplace_all(pairs.begin(), pairs.end());
  });
  return *symbols_;
}

const GeneVocab::SymbolTables& GeneVocab::symbols_with_reverse() const {
  const SymbolTables& forward = symbols();
  std::call_once(symbols_->reverse_once, [this] {
    SymbolTables& t = *symbols_;
    if (!t.status.is_ok()) return;
    std::vector<std::pair<std::string_view, std::string_view>> pairs;
    pairs.reserve(120000);
    for_each_symbol(t.symbols_text, [&](std::string_view s, std::string_view id) { pairs.emplace_back(id, s); });
    for_each_gencode(t.gencode_text, [&](std::string_view s, std::string_view id) { pairs.emplace_back(id, s); });
    t.symbol_by_ensembl.emplace_all(pairs.begin(), pairs.end());  // the first table's symbol wins, as before
  });
  return forward;
}

Status GeneVocab::symbol_tables_status() const { return image_ ? Status::ok() : symbols().status; }

Result<GeneVocab> GeneVocab::load(const std::string& dir) {
  GeneVocab v;
  SCCELLO_RETURN_IF_ERROR(v.read_tokens(dir + "/token_dictionary.tsv"));
  SCCELLO_RETURN_IF_ERROR(v.read_medians(dir + "/gene_median_dictionary.tsv"));
  for (const char* table : {"/gene_symbol_to_ensembl.tsv", "/genes_homo_sapiens_gencode_v48.csv.gz"})
    if (::access((dir + table).c_str(), R_OK) != 0)
      return Status::not_found("gene vocabulary table missing: " + dir + table);
  v.dir_ = dir;
  return v;
}

namespace {

// What load() checks of the text, checked of an image too: the token count, the ids, medians > 0.
bool image_checks_out(const VocabImage& image) {
  if (image.num_tokens() != static_cast<size_t>(GeneVocab::kCls) + 1) return false;
  for (int32_t t = 2; t < GeneVocab::kCls; ++t)
    if (image.id(t).empty() || !(image.median(t) > 0)) return false;
  return true;
}

}  // namespace

Result<GeneVocab> GeneVocab::load_cached(const std::string& dir, const std::string& cache_dir) {
  const uint64_t key = cache_dir.empty() ? 0 : vocab_tables_key(dir);
  if (key == 0) return load(dir);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(key));
  const std::string path = cache_dir + "/gene-vocab-" + hex + ".img";
  if (auto image = VocabImage::open(path, key); image && image_checks_out(*image)) {
    GeneVocab v;
    v.dir_ = dir;
    v.image_ = image;
    v.ids_.reserve(kCls + 1);
    v.medians_.resize(kCls + 1);
    std::vector<std::pair<std::string_view, int32_t>> pairs;
    pairs.reserve(kCls);
    for (int32_t t = 0; t <= kCls; ++t) {
      v.ids_.emplace_back(image->id(t));
      v.medians_[t] = image->median(t);
      if (t < kCls) pairs.emplace_back(image->id(t), t);
    }
    v.token_by_id_.emplace_all(pairs.begin(), pairs.end());
    return v;
  }
  SCCELLO_ASSIGN_OR_RETURN(GeneVocab v, load(dir));
  std::error_code ignored;
  std::filesystem::create_directories(cache_dir, ignored);
  if (::access(cache_dir.c_str(), W_OK) != 0) return v;  // no image can be written: parse only what is used
  const SymbolTables& t = v.symbols();
  if (!t.status.is_ok()) return v;  // the error comes back where the symbols are used, as with load()
  for (int32_t token = 0; token < kCls; ++token)
    if (v.token_of(v.ids_[token]) != token) return v;  // an id listed twice: its first token wins, which
                                                      // an image by token order would not reproduce
  // a cache: failing costs speed only
  (void)VocabImage::write(path, key, v.ids_, v.medians_, t.ensembl_by_symbol, t.gencode_by_symbol);
  return v;
}

Result<std::string> GeneVocab::locate(const std::string& exe_hint) {
  const char* env = std::getenv("SCCELLO_DATA_DIR");
  if (env && *env && file_exists(std::string(env) + "/vocab/token_dictionary.tsv")) return std::string(env) + "/vocab";
  std::vector<std::string> starts = {"."};
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) {
    std::string exe(buf, n);
    starts.push_back(exe.substr(0, exe.find_last_of('/')));
  }
  if (!exe_hint.empty()) starts.push_back(exe_hint);
  for (std::string dir : starts) {
    for (int up = 0; up < 6; ++up) {
      if (file_exists(dir + "/data/vocab/token_dictionary.tsv")) return dir + "/data/vocab";
      dir += "/..";
    }
  }
  return Status::not_found("gene vocabulary not found: pass --vocab DIR (the folder with token_dictionary.tsv) "
                           "or set SCCELLO_DATA_DIR");
}

int32_t GeneVocab::token_of(std::string_view ensembl_id) const {
  const int32_t* token = token_by_id_.find(ensembl_id);
  return token ? *token : -1;
}

std::string GeneVocab::symbol(int32_t token) const {
  if (token < 0 || token >= size()) return "";
  const SymbolTables& t = symbols_with_reverse();
  const std::string_view* symbol = t.symbol_by_ensembl.find(ids_[token]);
  return symbol ? std::string(*symbol) : "";
}

std::string GeneVocab::to_ensembl(const std::string& var_id) const {
  if (looks_like_ensembl(var_id)) return strip_ensembl_version(var_id);
  if (image_) {
    std::string_view id;
    if (image_->ensembl_by_symbol().find(var_id, &id) || image_->gencode_by_symbol().find(var_id, &id))
      return std::string(id);
    return "";
  }
  const SymbolTables& t = symbols();
  if (const std::string_view* id = t.ensembl_by_symbol.find(var_id)) return std::string(*id);
  const std::string_view* id = t.gencode_by_symbol.find(var_id);
  return id ? std::string(*id) : "";
}

GeneMapping GeneVocab::map(const std::string& var_id) const {
  GeneMapping m;
  if (var_id.empty()) return m;
  m.ensembl_id = to_ensembl(var_id);
  if (m.ensembl_id.empty()) {
    m.kind = GeneMapping::Kind::kUnknownSymbol;
    return m;
  }
  m.token = token_of(m.ensembl_id);
  m.kind = m.token >= 0 ? GeneMapping::Kind::kMapped : GeneMapping::Kind::kNotInVocab;
  return m;
}

std::vector<GeneMapping> GeneVocab::map_all(const std::vector<std::string>& var_ids) const {
  constexpr size_t kAhead = 8;
  const size_t n = var_ids.size();
  std::vector<GeneMapping> out(n);
  // Symbols first, to Ensembl ids (both tables' slots prefetched when mapped from an image).
  std::vector<size_t> symbols;
  for (size_t i = 0; i < n; ++i) {
    const std::string& id = var_ids[i];
    if (id.empty()) continue;
    if (looks_like_ensembl(id)) out[i].ensembl_id = strip_ensembl_version(id);
    else symbols.push_back(i);
  }
  for (size_t j = 0; j < symbols.size(); ++j) {
    if (image_ && j + kAhead < symbols.size()) {
      const std::string& ahead = var_ids[symbols[j + kAhead]];
      image_->ensembl_by_symbol().prefetch(ahead);
      image_->gencode_by_symbol().prefetch(ahead);
    }
    GeneMapping& m = out[symbols[j]];
    m.ensembl_id = to_ensembl(var_ids[symbols[j]]);
    if (m.ensembl_id.empty()) m.kind = GeneMapping::Kind::kUnknownSymbol;
  }
  // Then Ensembl ids to tokens.
  for (size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) token_by_id_.prefetch(out[i + kAhead].ensembl_id);
    GeneMapping& m = out[i];
    if (m.ensembl_id.empty()) continue;  // an empty id (kEmpty) or an unknown symbol
    m.token = token_of(m.ensembl_id);
    m.kind = m.token >= 0 ? GeneMapping::Kind::kMapped : GeneMapping::Kind::kNotInVocab;
  }
  return out;
}

}  // namespace sccello

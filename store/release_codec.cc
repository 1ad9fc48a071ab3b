// Release records: a magic tag and version, then varint-length-prefixed fields.
#include "store/release_codec.h"

#include "store/sha256.h"

namespace sccello {
namespace {

constexpr std::string_view kContentMagic = "SCRC\x01";
constexpr std::string_view kInfoMagic = "SCRI\x01";

class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}
  void u64(uint64_t v) {
    while (v >= 0x80) { out_->push_back(static_cast<char>(v | 0x80)); v >>= 7; }
    out_->push_back(static_cast<char>(v));
  }
  void str(std::string_view s) { u64(s.size()); out_->append(s); }
  void strs(const std::vector<std::string>& v) { u64(v.size()); for (const auto& s : v) str(s); }

 private:
  std::string* out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool done() const { return pos_ == in_.size(); }
  uint64_t u64() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return fail();
      uint8_t b = static_cast<uint8_t>(in_[pos_++]);
      v |= uint64_t{b & 0x7fu} << shift;
      if (!(b & 0x80)) return v;
    }
    return fail();
  }
  std::string str() {
    uint64_t n = u64();
    if (!ok_ || n > in_.size() - pos_) return fail(), std::string();
    std::string s(in_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  std::vector<std::string> strs() {
    uint64_t n = u64();
    std::vector<std::string> v;
    if (n > in_.size() - pos_) return fail(), v;
    for (uint64_t i = 0; i < n && ok_; ++i) v.push_back(str());
    return v;
  }
  bool magic(std::string_view m) {
    if (in_.substr(0, m.size()) != m) return fail(), false;
    pos_ = m.size();
    return true;
  }

 private:
  uint64_t fail() { ok_ = false; pos_ = in_.size(); return 0; }
  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

void write_term(Writer& w, const Term& t) {
  w.str(t.id); w.str(t.name); w.str(t.definition);
  w.u64(t.synonyms.size());
  for (const Synonym& s : t.synonyms) { w.str(s.text); w.str(s.scope); }
  w.strs(t.xrefs);
  w.u64(t.obsolete ? 1 : 0);
  w.strs(t.replaced_by); w.strs(t.consider);
}

Term read_term(Reader& r) {
  Term t;
  t.id = r.str(); t.name = r.str(); t.definition = r.str();
  uint64_t n = r.u64();
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    Synonym s;
    s.text = r.str(); s.scope = r.str();
    t.synonyms.push_back(std::move(s));
  }
  t.xrefs = r.strs();
  t.obsolete = r.u64() != 0;
  t.replaced_by = r.strs(); t.consider = r.strs();
  return t;
}

Status corrupt(const std::string& key) {
  return Status::corruption("store record '" + key + "' is damaged or was written by another program; "
                            "re-import the release with --replace");
}

}  // namespace

std::string encode_release_content(const OntologyRelease& release) {
  std::string out(kContentMagic);
  Writer w(&out);
  w.u64(release.terms.size());
  for (const Term& t : release.terms) write_term(w, t);
  w.u64(release.edges.size());
  for (const Edge& e : release.edges) { w.str(e.child); w.str(e.relation); w.str(e.parent); }
  return out;
}

Status decode_release_content(std::string_view bytes, const std::string& key, OntologyRelease* release) {
  Reader r(bytes);
  if (!r.magic(kContentMagic)) return corrupt(key);
  uint64_t n = r.u64();
  if (n > bytes.size()) return corrupt(key);
  release->terms.clear();
  release->terms.reserve(n);
  for (uint64_t i = 0; i < n && r.ok(); ++i) release->terms.push_back(read_term(r));
  uint64_t m = r.u64();
  if (m > bytes.size()) return corrupt(key);
  release->edges.clear();
  release->edges.reserve(m);
  for (uint64_t i = 0; i < m && r.ok(); ++i) {
    Edge e;
    e.child = r.str(); e.relation = r.str(); e.parent = r.str();
    release->edges.push_back(std::move(e));
  }
  if (!r.ok() || !r.done()) return corrupt(key);
  return Status::ok();
}

std::string encode_release_info(const ReleaseInfo& info, uint64_t sequence) {
  std::string out(kInfoMagic);
  Writer w(&out);
  w.u64(sequence);
  w.str(info.name); w.str(info.source_file); w.str(info.source_format);
  w.str(info.content_hash); w.str(info.data_version);
  w.u64(static_cast<uint64_t>(info.imported_at));
  w.u64(info.num_terms); w.u64(info.num_obsolete); w.u64(info.num_edges);
  return out;
}

Status decode_release_info(std::string_view bytes, const std::string& key, ReleaseInfo* info,
                           uint64_t* sequence) {
  Reader r(bytes);
  if (!r.magic(kInfoMagic)) return corrupt(key);
  *sequence = r.u64();
  info->name = r.str(); info->source_file = r.str(); info->source_format = r.str();
  info->content_hash = r.str(); info->data_version = r.str();
  info->imported_at = static_cast<int64_t>(r.u64());
  info->num_terms = static_cast<int64_t>(r.u64());
  info->num_obsolete = static_cast<int64_t>(r.u64());
  info->num_edges = static_cast<int64_t>(r.u64());
  if (!r.ok() || !r.done()) return corrupt(key);
  return Status::ok();
}

std::string release_content_hash(const OntologyRelease& release) {
  return sha256_hex(encode_release_content(release));
}

}  // namespace sccello

// Checkpoint writer and reader (format in checkpoint.h).
#include "model/checkpoint.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "store/byte_cursor.h"
#include "store/safe_text.h"

namespace sccello {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr char kMagic[8] = {'S', 'C', 'C', 'E', 'L', 'L', 'O', 'C'};

const std::vector<std::pair<at::ScalarType, uint8_t>>& dtype_codes() {
  static const std::vector<std::pair<at::ScalarType, uint8_t>> codes = {
      {at::kFloat, 0}, {at::kDouble, 1}, {at::kLong, 2}, {at::kInt, 3}, {at::kBFloat16, 4}, {at::kByte, 5},
      {at::kBool, 6}, {at::kHalf, 7}};
  return codes;
}

uint64_t fnv1a(uint64_t h, const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ULL;
  return h;
}
constexpr uint64_t kFnvBasis = 1469598103934665603ULL;

// Appends bytes to a file, hashing them, failing on short writes (or at the test limit).
class HashingWriter {
 public:
  HashingWriter(FILE* f, int64_t fail_after) : f_(f), fail_after_(fail_after) {}
  bool put(const void* data, size_t n) {
    if (fail_after_ >= 0 && written_ + static_cast<int64_t>(n) > fail_after_) return false;
    if (n == 0) return true;  // an empty tensor's data pointer may be null
    hash_ = fnv1a(hash_, data, n);
    written_ += static_cast<int64_t>(n);
    return std::fwrite(data, 1, n, f_) == n;
  }
  template <typename T> bool put_pod(T v) { return put(&v, sizeof v); }
  bool put_string(const std::string& s, bool wide) {
    return (wide ? put_pod<uint64_t>(s.size()) : put_pod<uint32_t>(s.size())) && put(s.data(), s.size());
  }
  uint64_t hash() const { return hash_; }

 private:
  FILE* f_;
  int64_t fail_after_;
  int64_t written_ = 0;
  uint64_t hash_ = kFnvBasis;
};

// Text of our own making parsed back; anything unparsable (never expected) becomes null.
json parse_or_null(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? json() : j;
}

json meta_to_json(const CheckpointMeta& m) {
  return {{"config", parse_or_null(run_config_to_json(m.config))}, {"release_name", m.release_name},
          {"release_hash", m.release_hash}, {"target_describe", m.target_describe},
          {"label_space", m.label_space}, {"vocab_hash", m.vocab_hash}, {"losses", m.losses},
          {"step", m.step}, {"total_steps", m.total_steps}, {"micro_batches", m.micro_batches}, {"cells_seen", m.cells_seen},
          {"metrics", parse_or_null(m.metrics_json)}};
}

Result<CheckpointMeta> meta_from_json(const std::string& text, const std::string& path) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return Status::corruption(path + ": checkpoint metadata is not valid JSON");
  CheckpointMeta m;
  try {
    SCCELLO_ASSIGN_OR_RETURN(m.config, parse_run_config(json_dump(j.at("config")), path + " (config)"));
    m.release_name = j.at("release_name");
    m.release_hash = j.at("release_hash");
    m.target_describe = j.at("target_describe");
    m.label_space = j.at("label_space").get<std::vector<TermId>>();
    m.vocab_hash = j.at("vocab_hash");
    m.losses = j.at("losses");
    m.step = j.at("step");
    m.total_steps = j.at("total_steps");
    m.micro_batches = j.at("micro_batches");
    m.cells_seen = j.value("cells_seen", int64_t{-1});
    m.metrics_json = json_dump(j.at("metrics"));
  } catch (const json::exception& e) {
    return Status::corruption(path + ": checkpoint metadata: " + e.what());
  }
  return m;
}

bool write_tensor(HashingWriter& w, const std::string& name, const at::Tensor& tensor) {
  at::Tensor t = tensor.detach().to(at::kCPU).contiguous();
  auto code = std::find_if(dtype_codes().begin(), dtype_codes().end(),
                           [&](const auto& c) { return c.first == t.scalar_type(); });
  if (code == dtype_codes().end()) return false;
  bool ok = w.put_string(name, false) && w.put_pod<uint8_t>(code->second) && w.put_pod<uint32_t>(t.dim());
  for (int64_t d : t.sizes()) ok = ok && w.put_pod<int64_t>(d);
  const size_t nbytes = t.numel() * t.element_size();
  return ok && w.put_pod<uint64_t>(nbytes) && w.put(t.data_ptr(), nbytes);
}

bool write_body(HashingWriter& w, const CheckpointMeta& meta, const NamedTensors& tensors) {
  bool ok = w.put(kMagic, sizeof kMagic) && w.put_pod<uint32_t>(kCheckpointVersion) &&
            w.put_string(json_dump(meta_to_json(meta)), true) && w.put_pod<uint64_t>(tensors.size());
  for (const auto& [name, t] : tensors) ok = ok && write_tensor(w, name, t);
  return ok && w.put_pod<uint64_t>(w.hash());
}

void fsync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

namespace {

Status write_checkpoint_file(const std::string& path, const CheckpointMeta& meta, const NamedTensors& tensors,
                             const CheckpointWriteOptions& options) {
  std::error_code ec;
  fs::path target(path);
  if (target.has_parent_path()) fs::create_directories(target.parent_path(), ec);
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return Status::io_error("cannot create checkpoint file " + tmp + ": " + std::strerror(errno));
  HashingWriter writer(f, options.fail_after_bytes);
  bool ok = write_body(writer, meta, tensors);
  ok = ok && std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
  int saved_errno = errno;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    fs::remove(tmp, ec);
    return Status::io_error("writing checkpoint " + path + " failed (" +
                            (saved_errno ? std::strerror(saved_errno) : "short write") +
                            "; disk full?); the previous checkpoint is kept");
  }
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return Status::io_error("cannot rename checkpoint into place: " + path);
  }
  fsync_dir(target.has_parent_path() ? target.parent_path() : fs::path("."));
  return Status::ok();
}

}  // namespace

Status write_checkpoint(const std::string& path, const CheckpointMeta& meta, const NamedTensors& tensors,
                        const CheckpointWriteOptions& options) {
  try {
    return write_checkpoint_file(path, meta, tensors, options);
  } catch (const std::exception& e) {
    std::error_code ec;
    fs::remove(path + ".tmp-" + std::to_string(::getpid()), ec);
    return Status::internal("writing checkpoint " + path + " failed: " + torch_error_text(e) +
                            "; the previous checkpoint is kept");
  }
}

namespace {

// One tensor record: name, dtype code, dims, byte count, data.
bool read_tensor(ByteCursor& r, std::string* name, at::Tensor* out) {
  uint8_t code = 0;
  uint32_t ndim = 0;
  if (!r.get_string(name, false) || !r.get(&code) || !r.get(&ndim) || ndim > 16) return false;
  auto it = std::find_if(dtype_codes().begin(), dtype_codes().end(), [&](const auto& c) { return c.second == code; });
  if (it == dtype_codes().end()) return false;
  // The product of the dims (times the element size) is bounded by the bytes left in the file
  // before anything is allocated: a crafted size can neither overflow nor ask for terabytes.
  const uint64_t element = c10::elementSize(it->first);
  uint64_t bytes = element;
  std::vector<int64_t> dims(ndim);
  for (auto& d : dims) {
    if (!r.get(&d) || d < 0) return false;
    if (d > 0 && bytes > r.remaining() / static_cast<uint64_t>(d)) return false;
    bytes *= static_cast<uint64_t>(d);
  }
  uint64_t nbytes = 0;
  if (!r.get(&nbytes) || nbytes != bytes || nbytes > r.remaining()) return false;
  *out = at::empty(dims, at::TensorOptions().dtype(it->first));
  if (nbytes > 0) std::memcpy(out->data_ptr(), r.here(), nbytes);  // an empty tensor has no storage
  return r.skip(nbytes);
}

}  // namespace

namespace {

Result<Checkpoint> parse_checkpoint_bytes(const std::string& bytes, const std::string& path) {
  if (bytes.size() < 20 || std::memcmp(bytes.data(), kMagic, 8) != 0)
    return Status::invalid(path + " is not a sccello checkpoint (bad magic)");
  uint32_t version = 0;
  std::memcpy(&version, bytes.data() + 8, 4);
  if (version != kCheckpointVersion)
    return Status::unsupported(path + ": checkpoint format version " + std::to_string(version) +
                               ", this build reads version " + std::to_string(kCheckpointVersion));
  const size_t body = bytes.size() - 8;
  uint64_t stored = 0;
  std::memcpy(&stored, bytes.data() + body, 8);
  if (fnv1a(kFnvBasis, bytes.data(), body) != stored)
    return Status::corruption(path + ": checksum mismatch (truncated or damaged checkpoint)");
  ByteCursor r(bytes.data(), body);
  std::string meta_text;
  uint64_t count = 0;
  if (!r.skip(12) || !r.get_string(&meta_text, true) || !r.get(&count))
    return Status::corruption(path + ": truncated header");
  Checkpoint ckpt;
  SCCELLO_ASSIGN_OR_RETURN(ckpt.meta, meta_from_json(meta_text, path));
  for (uint64_t i = 0; i < count; ++i) {
    std::string name;
    at::Tensor t;
    if (!read_tensor(r, &name, &t)) return Status::corruption(path + ": bad tensor record #" + std::to_string(i));
    ckpt.tensors.emplace_back(std::move(name), std::move(t));
  }
  return ckpt;
}

Result<Checkpoint> read_checkpoint_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::not_found("cannot open checkpoint " + path);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse_checkpoint_bytes(bytes, path);
}

}  // namespace

Result<Checkpoint> read_checkpoint(const std::string& path) {
  try {
    return read_checkpoint_file(path);
  } catch (const std::exception& e) {
    return Status::corruption(path + ": cannot load the checkpoint: " + torch_error_text(e));
  }
}

Result<Checkpoint> parse_checkpoint(const std::string& bytes, const std::string& name) {
  try {
    return parse_checkpoint_bytes(bytes, name);
  } catch (const std::exception& e) {
    return Status::corruption(name + ": cannot load the checkpoint: " + torch_error_text(e));
  }
}

std::string torch_error_text(const std::exception& e) {
  if (const auto* torch_error = dynamic_cast<const c10::Error*>(&e)) return torch_error->what_without_backtrace();
  return e.what();
}

std::string checkpoint_path(const std::string& out_dir, int64_t step) {
  char name[64];
  std::snprintf(name, sizeof name, "step-%08lld.ckpt", static_cast<long long>(step));
  return (fs::path(out_dir) / "checkpoints" / name).string();
}

namespace {

std::vector<fs::path> list_checkpoints(const std::string& out_dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(out_dir) / "checkpoints", ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("step-", 0) == 0 && e.path().extension() == ".ckpt") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

Result<std::string> resolve_checkpoint_path(const std::string& file_or_dir) {
  std::error_code ec;
  if (fs::is_regular_file(file_or_dir, ec)) return file_or_dir;
  if (!fs::is_directory(file_or_dir, ec)) return Status::not_found("no checkpoint file or directory at " + file_or_dir);
  auto files = list_checkpoints(file_or_dir);
  if (files.empty())
    return Status::not_found("no checkpoints/step-*.ckpt under " + file_or_dir + " (was training run with --out there?)");
  return files.back().string();
}

std::vector<std::string> sweep_stale_checkpoint_temps(const std::string& out_dir) {
  std::vector<std::string> removed;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(out_dir) / "checkpoints", ec)) {
    const std::string name = e.path().filename().string();
    const size_t tmp = name.find(".ckpt.tmp");
    if (tmp == std::string::npos || name.rfind("step-", 0) != 0) continue;
    const std::string pid_text = name.substr(tmp + 9);  // "-PID", or "" for an unnamed writer
    if (pid_text.size() > 1 && pid_text[0] == '-') {
      const long pid = std::strtol(pid_text.c_str() + 1, nullptr, 10);
      if (pid > 0 && pid != ::getpid() && ::kill(static_cast<pid_t>(pid), 0) == 0) continue;  // a live writer's
    }
    std::error_code rm;
    if (fs::remove(e.path(), rm)) removed.push_back(e.path().string());
  }
  return removed;
}

void prune_checkpoints(const std::string& out_dir, int64_t keep) {
  auto files = list_checkpoints(out_dir);
  std::error_code ec;
  for (size_t i = 0; i + keep < files.size(); ++i) fs::remove(files[i], ec);
}

std::string fnv1a_hex(const std::string& bytes) {
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(fnv1a(kFnvBasis, bytes.data(), bytes.size())));
  return out;
}

}  // namespace sccello

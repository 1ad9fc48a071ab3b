// Status and Result<T>: how user-caused errors travel in sccello (bad file, missing term,
// locked store). A Status is ok or carries a code and a message that names the file, line or
// key and says what to do. Programmer errors are assertions, not Statuses. Values, no sharing.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace sccello {

class Status {
 public:
  enum class Code { kOk, kNotFound, kInvalidInput, kCorruption, kIoError, kBusy, kUnsupported, kInternal };

  Status() = default;
  static Status ok() { return Status(); }
  static Status not_found(std::string msg) { return Status(Code::kNotFound, std::move(msg)); }
  static Status invalid(std::string msg) { return Status(Code::kInvalidInput, std::move(msg)); }
  static Status corruption(std::string msg) { return Status(Code::kCorruption, std::move(msg)); }
  static Status io_error(std::string msg) { return Status(Code::kIoError, std::move(msg)); }
  static Status busy(std::string msg) { return Status(Code::kBusy, std::move(msg)); }
  static Status unsupported(std::string msg) { return Status(Code::kUnsupported, std::move(msg)); }
  static Status internal(std::string msg) { return Status(Code::kInternal, std::move(msg)); }

  bool is_ok() const { return code_ == Code::kOk; }
  explicit operator bool() const { return is_ok(); }
  bool is_not_found() const { return code_ == Code::kNotFound; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "code: message", for logs and the CLI.
  std::string to_string() const;
  // Returns a copy whose message is prefixed with `context: `.
  Status with_context(const std::string& context) const;

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

// A value or the Status that explains why there is none.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) { assert(!status_.is_ok()); }  // NOLINT

  bool is_ok() const { return value_.has_value(); }
  explicit operator bool() const { return is_ok(); }
  const Status& status() const { return status_; }
  T& value() & { assert(is_ok()); return *value_; }
  const T& value() const& { assert(is_ok()); return *value_; }
  T&& value() && { assert(is_ok()); return std::move(*value_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace sccello

// Propagates a non-ok Status out of the current function.
#define SCCELLO_RETURN_IF_ERROR(expr)          \
  do {                                         \
    ::sccello::Status _st = (expr);            \
    if (!_st.is_ok()) return _st;              \
  } while (0)

#define SCCELLO_CONCAT_INNER(a, b) a##b
#define SCCELLO_CONCAT(a, b) SCCELLO_CONCAT_INNER(a, b)
// Declares `lhs` from a Result, or returns its Status.
#define SCCELLO_ASSIGN_OR_RETURN(lhs, expr)                              \
  auto SCCELLO_CONCAT(_res_, __LINE__) = (expr);                         \
  if (!SCCELLO_CONCAT(_res_, __LINE__).is_ok())                          \
    return SCCELLO_CONCAT(_res_, __LINE__).status();                     \
  lhs = std::move(SCCELLO_CONCAT(_res_, __LINE__)).value()

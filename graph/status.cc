#include "graph/status.h"

namespace sccello {

namespace {
const char* code_name(Status::Code code) {
  switch (code) {
    case Status::Code::kOk: return "ok";
    case Status::Code::kNotFound: return "not found";
    case Status::Code::kInvalidInput: return "invalid input";
    case Status::Code::kCorruption: return "corruption";
    case Status::Code::kIoError: return "I/O error";
    case Status::Code::kBusy: return "busy";
    case Status::Code::kUnsupported: return "unsupported";
    case Status::Code::kInternal: return "internal error";
  }
  return "error";
}
}  // namespace

std::string Status::to_string() const {
  if (is_ok()) return "ok";
  return std::string(code_name(code_)) + ": " + message_;
}

Status Status::with_context(const std::string& context) const {
  if (is_ok()) return *this;
  return Status(code_, context + ": " + message_);
}

}  // namespace sccello

#include "cli/model_dispatch.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

namespace sccello {
namespace {

// Global options of cli/main.cc that take a value (the dispatcher must skip the value too).
bool takes_value(const std::string& option) {
  static const std::set<std::string> kValued = {"--store", "--backend", "--release", "--threads"};
  return kValued.count(option) > 0;
}

bool has_argument(int argc, const char* const* argv, const char* name) {
  const size_t n = std::strlen(name);
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return true;
    if (std::strncmp(argv[i], name, n) == 0 && argv[i][n] == '=') return true;
  }
  return false;
}

}  // namespace

const char* executable_name(Executable e) {
  switch (e) {
    case Executable::kTools: return "sccello-tools";
    case Executable::kModel: return "sccello-model";
    default: return "";
  }
}

std::vector<std::string> command_path(int argc, const char* const* argv) {
  std::vector<std::string> path;
  for (int i = 1; i < argc && path.size() < 2; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("-", 0) == 0) {
      if (!path.empty()) break;  // options of the command: the path is complete
      if (arg.find('=') == std::string::npos && takes_value(arg)) ++i;
      continue;
    }
    path.push_back(arg);
  }
  return path;
}

Executable executable_for(int argc, const char* const* argv) {
  const std::vector<std::string> path = command_path(argc, argv);
  if (path.empty()) return Executable::kSelf;
  const std::string& family = path[0];
  const std::string sub = path.size() > 1 ? path[1] : "";
  if (family == "train" || family == "embed" || family == "annotate" || family == "init") return Executable::kModel;
  if (family == "index" && (sub == "build" || sub == "add")) return Executable::kModel;
  if (family == "query" && has_argument(argc, argv, "--h5ad")) return Executable::kModel;
  if (family == "eval") return sub == "markers" ? Executable::kModel : Executable::kTools;
  if (family == "report") return Executable::kTools;
  // serve embeds uploads in sccello-model; without it (a build without LibTorch) sccello-tools
  // serves everything else.
  if (family == "serve") return sibling_executable_path(Executable::kModel).empty() ? Executable::kTools : Executable::kModel;
  return Executable::kSelf;
}

std::string sibling_executable_path(Executable e) {
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) return "";
  std::string dir(self, static_cast<size_t>(n));
  dir = dir.substr(0, dir.rfind('/') + 1);
  const std::string candidate = dir + executable_name(e);
  return access(candidate.c_str(), X_OK) == 0 ? candidate : "";
}

Status exec_executable(Executable e, int argc, char** argv) {
  const std::string path = sibling_executable_path(e);
  if (path.empty())
    return Status::unsupported(std::string("this command runs in '") + executable_name(e) +
                               "', which is not installed beside sccello" +
                               (e == Executable::kModel ? " (a build without LibTorch? install libtorch-dev and "
                                                          "rebuild with scripts/build.sh)"
                                                        : " (rebuild with scripts/build.sh)"));
  std::vector<char*> args(argv, argv + argc);
  args.push_back(nullptr);
  execv(path.c_str(), args.data());
  return Status::io_error("cannot start " + path + ": " + std::strerror(errno));
}

}  // namespace sccello

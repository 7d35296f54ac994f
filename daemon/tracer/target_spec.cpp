#include "tracer/target_spec.h"

namespace hotalloc::tracer {

std::string TargetSpec::text() const {
  if (kind == Kind::pid) return fmt::format("pid:{}", pid);
  if (kind == Kind::discovered) return "discover";
  return name.empty() ? "exe:" + path : fmt::format("exe:{}={}", name, path);
}

TargetSpec pid_spec(int pid) {
  TargetSpec s;
  s.kind = TargetSpec::Kind::pid;
  s.pid = pid;
  return s;
}

TargetSpec discovered_spec(int pid) {
  TargetSpec s = pid_spec(pid);
  s.kind = TargetSpec::Kind::discovered;
  return s;
}

Result<TargetSpec> parse_exe_spec(const std::string& text) {
  TargetSpec s;
  s.kind = TargetSpec::Kind::exe;
  // A path starts with '/'; anything before the first '=' otherwise is a name.
  auto eq = text.find('=');
  if (eq != std::string::npos && !text.starts_with('/')) {
    s.name = text.substr(0, eq);
    s.path = text.substr(eq + 1);
    if (s.name.empty()) return fail("\"{}\": empty target name before '='", text);
  } else {
    s.path = text;
  }
  if (!s.path.starts_with('/')) return fail("\"{}\": the path must be absolute", text);
  return s;
}

std::string target_name_for(const std::string& exe_path) {
  std::string p = exe_path;
  constexpr std::string_view deleted = " (deleted)";
  if (p.ends_with(deleted)) p.resize(p.size() - deleted.size());
  auto slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

}  // namespace hotalloc::tracer

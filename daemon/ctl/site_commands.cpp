// hotallocctl sites and pprof: the sampled heap profile of a target, as a
// table of allocation sites or as a pprof file.
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <memory>

#include <fmt/format.h>

#include "ctl/command_util.h"
#include "ctl/table.h"
#include "util/base64.h"

namespace hotalloc::ctl {
namespace {

using nlohmann::json;

// "main.go:42", or just the function's file when there is no line.
std::string position(const json& f) {
  std::string file = text(f, "file");
  if (auto slash = file.rfind('/'); slash != std::string::npos) file = file.substr(slash + 1);
  int64_t line = f.value("line", int64_t{0});
  return line > 0 ? fmt::format("{}:{}", file, line) : file;
}

std::string sampling(const json& profile) {
  int64_t rate = profile.value("rate", int64_t{-1});
  std::string pids;
  for (const json& p : list(profile, "pids")) pids += (pids.empty() ? "" : " ") + p.dump();
  if (rate <= 0) return "not sampled";
  return fmt::format("sampled 1 in {} allocated, pids {}", human_bytes(static_cast<uint64_t>(rate)),
                     pids.empty() ? "none" : pids);
}

void render_sites(const json& r, std::ostream& os, bool color) {
  const json& targets = list(r, "targets");
  if (targets.empty()) os << "no targets\n";
  bool first = true;
  for (const json& t : targets) {
    if (!first) os << '\n';
    first = false;
    const json& profile = t.at("profile");
    bool live = text(t, "order") == "inuse_space";
    os << paint(text(t, "target"), Color::bold, color);
    if (std::string go = text(t, "go_version"); !go.empty()) os << " (" << go << ")";
    os << ", " << sampling(profile) << (live ? ", by live bytes" : ", by allocated bytes") << '\n';
    std::string message = text(profile, "message");
    // Nothing to show says why, in place of an empty table.
    if (!profile.value("sampling", false)) {
      os << "  " << paint(message.empty() ? "no heap profile" : message, Color::yellow, color) << '\n';
      continue;
    }
    if (!message.empty()) os << "  " << paint(message, Color::yellow, color) << '\n';
    Table table({{"ALLOC BYTES", true}, {"ALLOC OBJECTS", true}, {"LIVE BYTES", true}, {"LIVE OBJECTS", true},
                 {"FUNCTION"}, {"LOCATION"}},
                "  ");
    for (const json& s : list(t, "sites")) {
      std::string where = position(s);
      for (const json& outer : list(s, "inlined_into"))
        where += fmt::format(" (inlined into {} {})", text(outer, "function"), position(outer));
      table.add({human_bytes(count_of(s, "alloc_bytes")), number(s, "alloc_objects"),
                 human_bytes(count_of(s, "inuse_bytes")), number(s, "inuse_objects"), text(s, "function"), where});
    }
    const json& totals = t.at("totals");
    table.add({human_bytes(count_of(totals, "alloc_bytes")), number(totals, "alloc_objects"),
               human_bytes(count_of(totals, "inuse_bytes")), number(totals, "inuse_objects"), "total (all sites)", ""});
    table.print(os, color);
  }
}

// A part no hotallocd sends: EPROTO makes it a protocol mismatch (exit 76).
std::unexpected<Error> mismatch(std::string message) { return std::unexpected(Error{std::move(message), EPROTO}); }

// Writes the chunks to PATH.tmp and renames it to PATH once the last has
// come, so that a failed transfer leaves no truncated profile behind.
class ProfileFile {
 public:
  explicit ProfileFile(std::string path) : path_(std::move(path)) {}
  ~ProfileFile() {
    if (out_.is_open()) {
      out_.close();
      std::remove(tmp().c_str());
    }
  }

  Status take(const json& part) {
    auto chunk = part.find("chunk");
    if (chunk == part.end()) return finish();
    if (!chunk->is_string()) return mismatch("the daemon sent a chunk that is not a string");
    auto bytes = base64_decode(chunk->get_ref<const std::string&>());
    if (!bytes) return mismatch("the daemon sent a chunk that is not base64");
    if (!out_.is_open()) {
      out_.open(tmp(), std::ios::binary | std::ios::trunc);
      if (!out_) return fail("cannot write {}", tmp());
    }
    out_.write(bytes->data(), static_cast<std::streamsize>(bytes->size()));
    if (!out_) return fail("cannot write {}", tmp());
    return {};
  }

 private:
  std::string tmp() const { return path_ + ".tmp"; }
  Status finish() {
    if (!out_.is_open()) return fail("the daemon sent no profile data");
    out_.close();
    if (!out_ || std::rename(tmp().c_str(), path_.c_str()) != 0) return fail("cannot write {}", path_);
    return {};
  }

  std::string path_;
  std::ofstream out_;
};

}  // namespace

void add_sites(CLI::App& app, Invocation& chosen) {
  struct Options {
    std::string target;
    bool live = false;
    int64_t limit = 20;
  };
  auto o = std::make_shared<Options>();
  CLI::App* sub = subcommand(
      app, chosen, "sites",
      "Top allocation sites (function, file:line, inlined frames) from the runtime's sampled heap profile, "
      "unbiased as pprof does",
      render_sites, [o] { return with_target({{"live", o->live}, {"limit", o->limit}}, o->target); });
  sub->add_option("--target,-t", o->target, "Only the target with this name");
  sub->add_flag("--live", o->live, "Order by live (in-use) bytes as of the last GC instead of allocated bytes");
  sub->add_option("--limit,-n", o->limit, "At most this many sites per target (0: all)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
}

void add_pprof(CLI::App& app, Invocation& chosen) {
  struct Options {
    std::string target;
    std::string output;
  };
  auto o = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand(
      "pprof", "Write a target's heap profile for `go tool pprof` (gzipped protobuf; needs uid 0 or an admin uid)");
  sub->add_option("--target,-t", o->target, "The target (needed when the daemon traces several)");
  sub->add_option("--output,-o", o->output, "Where to write the profile, e.g. heap.pb.gz")->required();
  sub->callback([&chosen, o] {
    json params = with_target(json::object(), o->target);
    auto file = std::make_shared<ProfileFile>(o->output);
    chosen = {"pprof", std::move(params),
              [o](const json& r, std::ostream& os, bool) {
                os << fmt::format("wrote {} ({}, {} samples, target {}, {})\n", o->output,
                                  human_bytes(count_of(r, "bytes")), number(r, "samples"), text(r, "target"),
                                  sampling(r));
                if (std::string m = text(r, "message"); !m.empty()) os << "note: " << m << '\n';
                os << fmt::format("read it with: go tool pprof {}\n", o->output);
              },
              [file](const json& part) { return file->take(part); }};
  });
}

}  // namespace hotalloc::ctl

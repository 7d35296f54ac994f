#include "pprof/pprof_writer.h"

#include <map>
#include <unordered_map>

#include "pprof/profile.pb.h"

namespace hotalloc::pprof {
namespace {

class StringTable {
 public:
  explicit StringTable(perftools::profiles::Profile& p) : p_(p) { index(""); }
  int64_t index(const std::string& s) {
    auto [it, added] = ids_.try_emplace(s, static_cast<int64_t>(ids_.size()));
    if (added) p_.add_string_table(s);
    return it->second;
  }

 private:
  perftools::profiles::Profile& p_;
  std::unordered_map<std::string, int64_t> ids_;
};

}  // namespace

std::string encode_profile(const heapprof::HeapProfile& profile, const ProfileMeta& meta) {
  perftools::profiles::Profile p;
  StringTable strings(p);
  for (const auto& t : heapprof::kSampleTypes) {
    auto* vt = p.add_sample_type();
    vt->set_type(strings.index(t.type));
    vt->set_unit(strings.index(t.unit));
  }
  p.mutable_period_type()->set_type(strings.index("space"));
  p.mutable_period_type()->set_unit(strings.index("bytes"));
  p.set_period(profile.period);
  p.set_time_nanos(meta.time_nanos);
  for (const auto& c : meta.comments) p.add_comment(strings.index(c));

  for (size_t i = 0; i < profile.mappings.size(); i++) {
    const heapprof::Mapping& m = profile.mappings[i];
    auto* pm = p.add_mapping();
    pm->set_id(i + 1);
    pm->set_memory_start(m.start);
    pm->set_memory_limit(m.limit);
    pm->set_file_offset(m.file_offset);
    pm->set_filename(strings.index(m.file));
    pm->set_build_id(strings.index(m.build_id));
    // Symbolized here, from .gopclntab: pprof must not try again.
    pm->set_has_functions(true);
    pm->set_has_filenames(true);
    pm->set_has_line_numbers(true);
    pm->set_has_inline_frames(true);
  }

  std::map<std::pair<std::string, std::string>, uint64_t> function_of;  // (name, file)
  for (size_t i = 0; i < profile.locations.size(); i++) {
    const heapprof::Location& l = profile.locations[i];
    auto* pl = p.add_location();
    pl->set_id(i + 1);
    pl->set_mapping_id(l.mapping + 1);
    pl->set_address(l.address);
    for (const auto& f : l.frames) {
      auto [it, added] = function_of.try_emplace({f.function, f.file}, function_of.size() + 1);
      if (added) {
        auto* pf = p.add_function();
        pf->set_id(it->second);
        pf->set_name(strings.index(f.function));
        pf->set_system_name(strings.index(f.function));
        pf->set_filename(strings.index(f.file));
      }
      auto* line = pl->add_line();
      line->set_function_id(it->second);
      line->set_line(f.line);
    }
  }

  const int64_t bytes_key = strings.index("bytes");
  for (const heapprof::Sample& s : profile.samples) {
    auto* ps = p.add_sample();
    for (size_t loc : s.locations) ps->add_location_id(loc + 1);
    for (int64_t v : s.values) ps->add_value(v);
    if (s.object_size) {
      auto* label = ps->add_label();
      label->set_key(bytes_key);
      label->set_num(s.object_size);
    }
  }
  return p.SerializeAsString();
}

}  // namespace hotalloc::pprof

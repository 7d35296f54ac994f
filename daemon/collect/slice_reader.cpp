#include "collect/slice_reader.h"

#include "collect/bpf_table.h"

namespace hotalloc::collect {

SliceReader::SliceReader(int slice_sites_fd, std::function<uint64_t(ha_stat)> stat_total, model::SliceModel& model,
                         std::function<MapSymbols*(int)> symbols)
    : fd_(slice_sites_fd), stat_total_(std::move(stat_total)), model_(model), symbols_(std::move(symbols)) {}

void SliceReader::read(int exited_pid) {
  const uint64_t added = stat_total_(HA_STAT_SLICE_SITES_ADDED);  // before the table (EvictionCount)
  bool complete = false;
  const auto entries = read_all<ha_slice_site_key, ha_slice_site>(fd_, &complete);
  for (const auto& [key, site] : entries) {
    int pid = static_cast<int>(key.tgid);
    if (!model_.needs_identity(pid, key.pc, key.caller)) {
      model_.update(site.target_id, pid, key.pc, key.caller, site, nullptr);
      continue;
    }
    model::SliceIdentity id;
    if (MapSymbols* sym = symbols_(pid)) {
      auto line = sym->call_site(key.pc);
      // Go 1.26 reaches growslice through growsliceBuf for slices that start
      // in a stack buffer (and growsliceNoAlias with GOEXPERIMENT=runtimefreegc):
      // the append is one frame up.
      if (line && line->function.starts_with("runtime.growslice")) line = sym->call_site(key.caller);
      if (line) {
        id.site = site_label(*line);
        id.file = line->file;
        id.function = line->function;
      }
      if (auto t = sym->type(site.elem_type)) id.elem_type = t->name;
    }
    if (id.site.empty()) id.site = fmt::format("pc:{:#x}", key.pc);
    model_.update(site.target_id, pid, key.pc, key.caller, site, &id);
  }
  if (complete)
    if (uint64_t n = evictions_.uncounted(added, entries.size())) model_.sites_evicted(n);
  // The process adds no more: its entries, just read, are freed.
  for (const auto& [key, site] : entries)
    if (static_cast<int>(key.tgid) == exited_pid && bpf_map_delete_elem(fd_, &key) == 0) evictions_.deleted();
}

}  // namespace hotalloc::collect

#include "collect/slice_reader.h"

#include "collect/bpf_table.h"

namespace hotalloc::collect {

SliceReader::SliceReader(int slice_sites_fd, model::SliceModel& model, std::function<MapSymbols*(int)> symbols)
    : fd_(slice_sites_fd), model_(model), symbols_(std::move(symbols)) {}

void SliceReader::poll() {
  for (const auto& [key, site] : read_all<ha_slice_site_key, ha_slice_site>(fd_)) {
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
}

void SliceReader::process_exited(int pid) {
  poll();
  for (const auto& [key, site] : read_all<ha_slice_site_key, ha_slice_site>(fd_))
    if (static_cast<int>(key.tgid) == pid) bpf_map_delete_elem(fd_, &key);
}

}  // namespace hotalloc::collect

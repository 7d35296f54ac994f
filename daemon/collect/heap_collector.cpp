#include "collect/heap_collector.h"

#include "heapprof/load_bias.h"
#include "heapprof/runtime_globals.h"
#include "util/log.h"

namespace hotalloc::collect {

void HeapCollector::track(const target::ProcessIdentity& id, const std::shared_ptr<const target::GoBinary>& binary) {
  Process p;
  heapprof::ProcessHeap& h = p.base;
  h.pid = id.pid;
  h.exe = id.exe_path;
  h.symbols = symbolizers_.get(binary);
  h.linked = heapprof::heap_profiling_linked(*binary);
  h.reader_function = heapprof::heap_profile_reader_function(*binary);
  auto functions = binary->pclntab().functions();
  h.text_start = binary->pclntab().text_start();
  h.text_end = functions.empty() ? h.text_start : functions.back().end;

  // Read even when the linker turned profiling off: a program may still set
  // runtime.MemProfileRate itself, and then its buckets fill all the same.
  auto globals = heapprof::find_runtime_globals(*binary);
  auto bias = heapprof::load_bias(procfs_.root(), id.pid, binary->elf(), id.exe.ino);
  if (!globals) {
    h.error = globals.error().message;
  } else if (!bias) {
    h.error = bias.error().message;
  } else {
    h.load_bias = *bias;
    p.reader = std::make_unique<heapprof::BucketReader>(std::make_unique<heapprof::ProcessMemory>(id.pid),
                                                         globals->mbuckets + *bias, globals->mem_profile_rate + *bias,
                                                         binary->go_version());
  }
  if (!h.error.empty()) logging::get("heap")->warn("pid {}: cannot read its heap profile: {}", id.pid, h.error);
  processes_[id.pid] = std::move(p);
}

void HeapCollector::poll() {
  // A process the model has retired (exited, or no longer asked for) is
  // read no more.
  std::erase_if(processes_, [&](const auto& entry) { return !model_.has_process(entry.first); });
  for (auto& [pid, p] : processes_) {
    auto heap = std::make_shared<heapprof::ProcessHeap>(p.base);
    if (p.reader) {
      auto reading = p.reader->read();
      if (reading) {
        heap->rate = reading->rate;
        heap->records = std::move(reading->records);
        p.last_error.clear();
      } else {
        heap->error = reading.error().message;
        // A process that is exiting fails here once before its exit is noticed.
        if (heap->error != p.last_error) logging::get("heap")->warn("pid {}: {}", pid, heap->error);
        p.last_error = heap->error;
      }
    }
    model_.process_heap(pid, std::move(heap));
  }
}

}  // namespace hotalloc::collect

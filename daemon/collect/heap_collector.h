// Reads the sampled heap profile of every traced process from its memory
// (the runtime's own buckets, see heapprof/bucket_reader.h) at each
// collection, and hands it to the model. No probes: reading costs the
// target nothing, sees allocations from before hotalloc attached, and gives
// exactly the figures the program's own runtime/pprof would.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "heapprof/bucket_reader.h"
#include "heapprof/process_heap.h"
#include "heapprof/symbolizer.h"
#include "model/model.h"
#include "target/go_binary.h"
#include "target/procfs.h"

namespace hotalloc::collect {

class HeapCollector {
 public:
  HeapCollector(model::Model& model, heapprof::SymbolizerCache& symbolizers, target::ProcFs procfs)
      : model_(model), symbolizers_(symbolizers), procfs_(std::move(procfs)) {}

  // Starts reading the heap profile of `id`'s process, which runs `binary`.
  void track(const target::ProcessIdentity& id, const std::shared_ptr<const target::GoBinary>& binary);

  // Reads every tracked process into the model; stops reading those the
  // model has retired.
  void poll();

 private:
  struct Process {
    heapprof::ProcessHeap base;  // what does not change between reads
    std::unique_ptr<heapprof::BucketReader> reader;  // null when there is nothing to read
    std::string last_error;  // logged once until it changes
  };

  model::Model& model_;
  heapprof::SymbolizerCache& symbolizers_;
  target::ProcFs procfs_;
  std::map<int, Process> processes_;
};

}  // namespace hotalloc::collect

// Closes uprobe links on a thread of its own. Closing one waits in the
// kernel for RCU grace periods (about 1.4 s for the links of one
// attachment); links that can no longer fire — their process exited or runs
// another program — need not hold up the event loop meanwhile (an exec's
// new program would be over before it is attached, and fresh answers on the
// socket would wait). One link at a time: closing holds a kernel lock that
// attaching takes too, so attaching waits at most for one close.
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "probes/bpf_objects.h"

namespace hotalloc::tracer {

class LinkCloser {
 public:
  LinkCloser();
  // Closes what is still queued, then stops.
  ~LinkCloser();
  LinkCloser(const LinkCloser&) = delete;
  LinkCloser& operator=(const LinkCloser&) = delete;

  // Links that can no longer fire; closed soon, in order.
  void close(std::vector<probes::Link> links);

 private:
  void run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<probes::Link> queue_;
  bool stop_ = false;
  std::thread thread_;  // last: starts once the rest is built
};

}  // namespace hotalloc::tracer

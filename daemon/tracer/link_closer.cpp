#include "tracer/link_closer.h"

#include <iterator>
#include <utility>

namespace hotalloc::tracer {

LinkCloser::LinkCloser() : thread_([this] { run(); }) {}

LinkCloser::~LinkCloser() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void LinkCloser::close(std::vector<probes::Link> links) {
  if (links.empty()) return;
  {
    std::lock_guard lock(mu_);
    std::ranges::move(links, std::back_inserter(queue_));
  }
  cv_.notify_one();
}

void LinkCloser::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing left to close
    std::vector<probes::Link> batch = std::exchange(queue_, {});
    lock.unlock();
    for (auto& link : batch) link = probes::Link();  // closes it
    lock.lock();
  }
}

}  // namespace hotalloc::tracer

// What reading a process's sampled heap profile costs the daemon: the first
// read (every bucket's header and stack) and the steady reads after it
// (records only), for the README (run by hand; `make bench` does not run it).
//
//   heap_read PID [READS]
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "heapprof/bucket_reader.h"
#include "heapprof/load_bias.h"
#include "heapprof/runtime_globals.h"
#include "target/procfs.h"

using namespace hotalloc;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s PID [READS]\n", argv[0]);
    return 2;
  }
  int pid = std::atoi(argv[1]);
  int reads = argc > 2 ? std::atoi(argv[2]) : 100;
  target::ProcFs procfs;
  auto id = procfs.identity(pid);
  if (!id) {
    std::fprintf(stderr, "%s\n", id.error().message.c_str());
    return 1;
  }
  auto bin = target::GoBinary::open(procfs.exe_link(pid));
  if (!bin) {
    std::fprintf(stderr, "%s\n", bin.error().message.c_str());
    return 1;
  }
  auto globals = heapprof::find_runtime_globals(**bin);
  auto bias = heapprof::load_bias(procfs.root(), pid, (*bin)->elf(), id->exe.ino);
  if (!globals || !bias) {
    std::fprintf(stderr, "%s\n", (!globals ? globals.error() : bias.error()).message.c_str());
    return 1;
  }
  heapprof::BucketReader reader(std::make_unique<heapprof::ProcessMemory>(pid), globals->mbuckets + *bias,
                                globals->mem_profile_rate + *bias, (*bin)->go_version());
  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  auto first = reader.read();
  auto t1 = Clock::now();
  if (!first) {
    std::fprintf(stderr, "%s\n", first.error().message.c_str());
    return 1;
  }
  for (int i = 0; i < reads; i++)
    if (!reader.read()) return 1;
  auto t2 = Clock::now();
  auto us = [](auto d) { return std::chrono::duration<double, std::micro>(d).count(); };
  std::printf("rate %lld, %zu records; first read %.0f us, then %.1f us per read (%d reads)\n",
              static_cast<long long>(first->rate), first->records.size(), us(t1 - t0), us(t2 - t1) / reads, reads);
  return 0;
}

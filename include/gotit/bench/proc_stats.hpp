// What a process costs, read from /proc: resident memory, its peak, CPU
// seconds and threads -- summed over the process and its children, so a
// fork-per-connection server is measured whole. Also the bench's own CPU
// (getrusage), so a reader can check the load generator was not the
// bottleneck.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace gotit {

struct ProcSample {
  std::uint64_t rss_bytes = 0;       // VmRSS, summed over the tree
  std::uint64_t peak_rss_bytes = 0;  // VmHWM, summed over the tree
  double cpu_seconds = 0.0;          // user + system, including reaped children
  int threads = 0;
  int processes = 0;                 // the process and its live descendants
};

// nullopt if `pid` no longer exists (or /proc cannot be read).
std::optional<ProcSample> sample_process_tree(pid_t pid);

// The calling process's user + system CPU seconds (RUSAGE_SELF).
double own_cpu_seconds();

}  // namespace gotit

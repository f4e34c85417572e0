// What holding the idle pool costs, measured around its opening: the
// kernel's socket memory (/proc/net/sockstat "mem", in pages, and Slab in
// /proc/meminfo, both machine-wide: both ends of a loopback connection) and,
// with --server-pid, the server's resident memory summed over its process
// tree and the spread of sockets over its workers.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "gotit/bench/proc_stats.hpp"

namespace gotit {

struct KernelMemory {
  std::uint64_t tcp_bytes = 0;   // sockstat TCP mem, pages * page size
  std::uint64_t slab_bytes = 0;  // Slab
  std::uint64_t available_bytes = 0;  // MemAvailable
};

KernelMemory read_kernel_memory();

// Sockets open in each direct child of `pid` (the workers of gotit-reactor
// --workers), from /proc/CHILD/fd. Empty when it has no children.
struct SocketSpread {
  int processes = 0;
  std::uint64_t min = 0, max = 0;
};
std::optional<SocketSpread> socket_spread(pid_t pid);

// The sample before the pool opened; the report after.
struct IdleCostBaseline {
  KernelMemory kernel;
  std::optional<ProcSample> server;
};
IdleCostBaseline measure_idle_baseline(pid_t server_pid);
// "idle cost ..." lines for the table: per connection held.
std::string format_idle_cost(const IdleCostBaseline& before, pid_t server_pid, int held);

}  // namespace gotit

// One worker of gotit-reactor --workers, the child side of the fork: the
// plain ReactorServer in worker mode, counting into the master's shared memory.
#pragma once

#include <sys/types.h>

#include <cstddef>

#include "gotit/reactor/options.hpp"
#include "gotit/reactor/stats.hpp"

namespace gotit {

struct WorkerPlan {
  ReactorOptions options;  // the master's, set for worker mode (master.cpp)
  std::size_t index = 0;   // 0..N-1, stable across restarts
  int ready_fd = -1;       // the worker writes its index here once it listens
};

// Runs in the child right after fork(), signals still blocked by the master.
// Arranges to be stopped if the master dies and serves, counting into
// `shared` (the master reads it live), until a stop signal.
// Exits the process: 0 after a graceful stop, 1 otherwise.
[[noreturn]] void run_worker(const WorkerPlan& plan, pid_t master, ReactorStats& shared);

}  // namespace gotit

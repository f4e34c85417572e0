// gotit-reactor --workers N: the nginx model. A small master process and N
// worker processes, each exactly the single-threaded ReactorServer (its own
// event_base, its own listening socket, its own file limit), all listening
// on one address and port through SO_REUSEPORT.
//
// The master binds the port first (without listening) so that `--port 0`
// yields one port for every worker and the port stays reserved while a
// worker restarts; it prints the one "listening on" line once every worker
// listens. It then only supervises: restarts a worker that dies (with a
// backoff), forwards SIGINT/SIGTERM, and sums the workers' counters, which
// each worker keeps in shared memory.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gotit/reactor/options.hpp"

namespace gotit {

// The workers `options` asks for: --workers N, or for auto (0) enough to
// hold --max-conns in total at `per_process` connections each, and at least
// one per core (without --max-conns: one per core).
std::size_t worker_count(const ReactorOptions& options, std::uint64_t per_process,
                         std::size_t cores);

// Worker `index`'s part of `total` connections (--max-conns) over `count`
// workers: total / count, one more for the first total % count, at least 1.
std::uint64_t worker_share(std::uint64_t total, std::size_t count, std::size_t index);

// The master: starts the workers, supervises them until SIGINT/SIGTERM and
// their graceful stop, prints the summary. Returns the exit code: 0 after a
// graceful stop of every worker, 1 otherwise. Throws UsageError or
// SystemError when it cannot start.
int run_master(const ReactorOptions& options);

}  // namespace gotit

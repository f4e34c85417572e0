// One benchmark run, start to finish, on one thread and one libevent loop:
//
//   1. idle     open --idle connections and hold them (progress on stderr)
//   2. connect  open --conns active connections; none at all is fatal
//   3. load     warm-up, then the measured window (--duration)
//   4. drain    stop sending; wait up to --timeout for replies in flight;
//               whatever never came is counted missing
//
// Every phase is bounded in time. Throws BenchError when the run cannot
// happen (unreachable server, file limit too low for --idle).
#pragma once

#include "gotit/bench/options.hpp"
#include "gotit/bench/result.hpp"

namespace gotit {

RunResult run_bench(const RunOptions& options);

}  // namespace gotit

// What one `gotit-bench run` measured: counts, latency and connect-time
// histograms, errors by kind (with the first example of each), and the
// cost of the server and of the bench itself. Plain data.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "gotit/bench/latency_histogram.hpp"
#include "gotit/bench/proc_stats.hpp"

namespace gotit {

enum class ErrorKind {
  connect_refused,   // nobody listening
  connect_timeout,   // no answer to SYN within --timeout (a full backlog)
  connect_failed,    // any other connect error (EADDRNOTAVAIL: out of ports...)
  wrong_reply,       // a reply byte differs from what the server must send
  reply_timeout,     // a connection waited --timeout for a reply: stalled
  closed_by_server,  // EOF on an active connection with replies owed
  reset_by_server,   // ECONNRESET on an active connection
  idle_closed,       // the server closed (or wrote to) a connection held idle
  io_error,          // another read or write error
  count_             // number of kinds
};
inline constexpr std::size_t kErrorKinds = static_cast<std::size_t>(ErrorKind::count_);
std::string_view to_string(ErrorKind kind);

// One --interval line: what the load did in those seconds.
struct IntervalSample {
  double end_s = 0.0;          // since the load began (warm-up included)
  double requests_per_s = 0.0; // replies received in the interval
  std::uint64_t p99_ns = 0;    // of those replies (0: none)
  std::uint64_t errors = 0;    // errors of every kind in the interval
  int open = 0;                // connections open at its end, idle ones too
};

struct RunResult {
  // What was asked (copied for reports).
  std::string target;        // "127.0.0.1:3000"
  int idle_target = 0;
  int conns = 0;
  int depth = 0;
  double rate = 0.0;
  std::size_t request_bytes = 0;
  double duration_s = 0.0;   // the measured window, as it really was
  double warmup_s = 0.0;
  bool new_connection_per_request = false;  // then a reply is a connection
  bool close_rst = false;
  std::string sources;       // the local addresses, when chosen

  // Idle pool.
  int idle_opened = 0;       // connected successfully
  int idle_held = 0;         // still open when the run ended
  double idle_open_seconds = 0.0;
  // Set when the pool stopped trying (IdlePool::give_up): why, and how many
  // connects it left untried.
  std::string idle_gave_up;

  // Active load.
  int active_connected = 0;  // active connections up at the start
  std::uint64_t requests_sent = 0;
  std::uint64_t replies = 0;            // correct replies, in order, all phases
  std::uint64_t replies_in_window = 0;  // of those, received in the window
  std::uint64_t missing_replies = 0;    // sent, never answered
  // Open loop: due in the window but never sent, the server being behind.
  // Their latency (so far, at the window's end) is in `latency`.
  std::uint64_t overdue_unsent = 0;
  LatencyHistogram latency;             // ns, requests sent in the window
  LatencyHistogram connect_time;        // ns, every successful connect
  std::vector<IntervalSample> intervals; // --interval

  std::array<std::uint64_t, kErrorKinds> errors{};
  std::array<std::string, kErrorKinds> first_error{};  // an example of each

  // Cost: the bench (always) and the server (with --server-pid).
  double bench_cpu_seconds = 0.0;                // during the window
  std::optional<ProcSample> server_after_idle;   // memory with the idle pool open
  std::optional<ProcSample> server_at_end;
  double server_cpu_seconds = 0.0;               // during the window

  double throughput() const {
    return duration_s > 0 ? static_cast<double>(replies_in_window) / duration_s : 0.0;
  }
  std::uint64_t total_errors() const;
  // No error, nothing unanswered, and at least one reply measured: a run in
  // which the server answered nobody is a failure, not a quiet success.
  bool clean() const {
    return total_errors() == 0 && missing_replies == 0 && replies_in_window > 0;
  }
  void add_error(ErrorKind kind, std::string_view example);
};

// The bench cannot run at all (unreachable server, file limit too low).
// gotit-bench exits 1 with its message.
class BenchError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace gotit

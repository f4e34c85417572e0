// What every connection of one bench run shares: the event loop, the
// server's address, the request and the reply it must get, one read buffer
// and the result being filled. Owned by BenchDriver, which outlives every
// connection; used from the loop thread only (the bench is one thread).
#pragma once

#include <event2/event.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "gotit/bench/options.hpp"
#include "gotit/bench/result.hpp"
#include "gotit/bench/socket.hpp"
#include "gotit/common/event_handles.hpp"
#include "gotit/bench/reply_checker.hpp"

namespace gotit {

using Clock = std::chrono::steady_clock;

inline std::uint64_t nanoseconds(Clock::duration d) {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
}

// event_new that throws instead of returning null.
EventPtr make_event(event_base* base, evutil_socket_t fd, short what, event_callback_fn callback,
                    void* argument);
// event_add with an optional timeout; throws on failure.
void add_event(event* ev, std::optional<Clock::duration> timeout = std::nullopt);
timeval to_timeval(Clock::duration d);

struct BenchContext {
  BenchContext(const RunOptions& run_options, RunResult& run_result);

  // The next --source-addrs address, round robin; null without the option.
  const SourceAddress* next_source();

  const RunOptions& options;
  RunResult& result;
  EventBasePtr base;
  Target target;
  ReplySpec reply;
  // The request written depth+1 times in a row, so any number of whole
  // requests in flight, from any offset inside one, is a single send().
  std::string batch;
  // Every read lands here: one thread, and replies are checked in place.
  std::vector<char> read_buffer;
  Clock::duration timeout;          // for a reply
  Clock::duration connect_timeout;  // for a connect
  Clock::time_point window_start = Clock::time_point::max();
  Clock::time_point window_end = Clock::time_point::max();
  bool sending = false;  // false before the load starts and after the window
  // Every reply's latency since the last --interval line (the driver
  // empties it); the window's own histogram is result.latency.
  LatencyHistogram interval_latency;

 private:
  std::size_t next_source_ = 0;
};

}  // namespace gotit

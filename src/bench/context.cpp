#include "gotit/bench/context.hpp"

#include <fmt/format.h>

namespace gotit {

EventPtr make_event(event_base* base, evutil_socket_t fd, short what, event_callback_fn callback,
                    void* argument) {
  EventPtr ev(event_new(base, fd, what, callback, argument));
  if (!ev) throw BenchError("event_new failed (out of memory)");
  return ev;
}

timeval to_timeval(Clock::duration d) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  const auto clamped = us < 0 ? 0 : us;
  return timeval{static_cast<time_t>(clamped / 1000000), static_cast<suseconds_t>(clamped % 1000000)};
}

void add_event(event* ev, std::optional<Clock::duration> timeout) {
  timeval tv{};
  if (timeout) tv = to_timeval(*timeout);
  if (event_add(ev, timeout ? &tv : nullptr) != 0) throw BenchError("event_add failed");
}

namespace {

// A precise timer: by default libevent reads CLOCK_MONOTONIC_COARSE (4 ms
// ticks here) and its epoll waits in whole milliseconds, so an open-loop
// send would leave up to ~5 ms late -- and, timed from its schedule, that
// lateness would be charged to the server.
EventBasePtr make_base() {
  EventConfigPtr config(event_config_new());
  if (!config) throw BenchError("event_config_new failed");
  if (event_config_set_flag(config.get(), EVENT_BASE_FLAG_PRECISE_TIMER) != 0) {
    throw BenchError("event_config_set_flag EVENT_BASE_FLAG_PRECISE_TIMER failed");
  }
  EventBasePtr base(event_base_new_with_config(config.get()));
  if (!base) throw BenchError("event_base_new_with_config failed");
  return base;
}

}  // namespace

BenchContext::BenchContext(const RunOptions& run_options, RunResult& run_result)
    : options(run_options),
      result(run_result),
      base(make_base()),
      target(resolve_target(run_options.host, run_options.port)),
      reply(make_reply_spec(run_options)),
      read_buffer(64 * 1024),
      timeout(std::chrono::duration_cast<Clock::duration>(
          std::chrono::duration<double>(run_options.timeout_s))),
      connect_timeout(std::chrono::duration_cast<Clock::duration>(
          std::chrono::duration<double>(run_options.connect_timeout_s))) {
  for (int i = 0; i <= run_options.depth; ++i) batch += run_options.request;
}

const SourceAddress* BenchContext::next_source() {
  if (options.source_addrs.empty()) return nullptr;
  const SourceAddress* source = &options.source_addrs[next_source_];
  next_source_ = (next_source_ + 1) % options.source_addrs.size();
  return source;
}

}  // namespace gotit

#include "gotit/reactor/stats.hpp"

#include <fmt/format.h>

namespace gotit {

std::string format_stats(const ReactorStats& stats) {
  return fmt::format(
      "accepted {}, rejected {} (server full), messages {}, bytes in {}, bytes out {}, "
      "peak connections {}, open {}, accept pauses {}, slow-reader throttles {}, "
      "write timeouts {}, idle timeouts {}, bytes via input buffer {}, reaped by keepalive {}, "
      "drained {}, cut {}, listener closes {}",
      stats.accepted.get(), stats.rejected_full.get(), stats.messages.get(),
      stats.bytes_in.get(), stats.bytes_out.get(), stats.peak.get(), stats.open.get(),
      stats.accept_pauses.get(), stats.slow_reader_throttles.get(),
      stats.write_timeouts.get(), stats.idle_timeouts.get(), stats.bytes_via_input_buffer.get(),
      stats.peers_reaped.get(), stats.drained.get(), stats.cut.get(),
      stats.listener_closes.get());
}

namespace {

// Every counter, listed once for copy_stats and add_stats.
constexpr Counter ReactorStats::*kCounters[] = {
    &ReactorStats::accepted,       &ReactorStats::rejected_full,
    &ReactorStats::accept_pauses,  &ReactorStats::slow_reader_throttles,
    &ReactorStats::write_timeouts, &ReactorStats::idle_timeouts,
    &ReactorStats::messages,       &ReactorStats::bytes_in,
    &ReactorStats::bytes_out,      &ReactorStats::bytes_via_input_buffer,
    &ReactorStats::open,
    &ReactorStats::peak,           &ReactorStats::listener_closes,
    &ReactorStats::peers_reaped,   &ReactorStats::drained,
    &ReactorStats::cut,
};

}  // namespace

void copy_stats(const ReactorStats& from, ReactorStats& to) {
  for (const auto counter : kCounters) (to.*counter).set((from.*counter).get());
}

void add_stats(const ReactorStats& from, ReactorStats& into) {
  for (const auto counter : kCounters) (into.*counter).add((from.*counter).get());
}

}  // namespace gotit

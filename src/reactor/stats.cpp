#include "gotit/reactor/stats.hpp"

#include <fmt/format.h>

namespace gotit {

std::string format_stats(const ReactorStats& stats) {
  return fmt::format(
      "accepted {}, rejected {} (server full), messages {}, bytes in {}, bytes out {}, "
      "peak connections {}, open {}, accept pauses {}, slow-reader throttles {}, "
      "write timeouts {}, idle timeouts {}, bytes via input buffer {}, reaped by keepalive {}",
      stats.accepted.get(), stats.rejected_full.get(), stats.messages.get(),
      stats.bytes_in.get(), stats.bytes_out.get(), stats.peak.get(), stats.open.get(),
      stats.accept_pauses.get(), stats.slow_reader_throttles.get(),
      stats.write_timeouts.get(), stats.idle_timeouts.get(), stats.bytes_via_input_buffer.get(),
      stats.peers_reaped.get());
}

}  // namespace gotit

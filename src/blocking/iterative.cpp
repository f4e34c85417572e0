// --model iterative: the tutorial's loop. The accepting thread serves one
// client from connect to close; meanwhile the next clients wait in the
// kernel's accept queue (--backlog), connected but unanswered.
#include <algorithm>

#include "models.hpp"

namespace gotit::blocking {

void run_iterative(ModelContext& context) {
  for (;;) {
    if (wait_for_client(context.listener.get(), context.stop.fd()) == Wake::stop) break;
    std::optional<AcceptedClient> connection = accept_client(context.listener.get(), context.stop.fd());
    if (!connection) continue;
    serve_client(*connection, context.reply, context.limits, context.stop.fd(), context.counters);
  }  // the served connection closed at the end of each turn
  // One after another, so each gets what is left of the one --shutdown-timeout
  // that began with the signal (the client served then has used some of it).
  const auto deadline = context.stop.requested_at() + context.limits.shutdown_timeout;
  accept_queued(context.listener.get(), context.stop.fd(), [&](AcceptedClient connection) {
    SessionLimits limits = context.limits;
    limits.shutdown_timeout = std::max(std::chrono::milliseconds(0), std::chrono::ceil<std::chrono::milliseconds>(
                                           deadline - std::chrono::steady_clock::now()));
    serve_client(connection, context.reply, limits, context.stop.fd(), context.counters);
  });
  context.listener.reset();  // stop accepting
}

}  // namespace gotit::blocking

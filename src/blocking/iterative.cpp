// --model iterative: the tutorial's loop. The accepting thread serves one
// client from connect to close; meanwhile the next clients wait in the
// kernel's accept queue (--backlog), connected but unanswered.
#include "models.hpp"

namespace gotit::blocking {

void run_iterative(ModelContext& context) {
  for (;;) {
    if (wait_for_client(context.listener.get(), context.stop.fd()) == Wake::stop) break;
    std::optional<AcceptedClient> connection = accept_client(context.listener.get(), context.stop.fd());
    if (!connection) continue;
    serve_client(*connection, context.reply, context.stop.fd(), context.counters);
  }  // the served connection closed at the end of each turn
  context.listener.reset();  // stop accepting
}

}  // namespace gotit::blocking

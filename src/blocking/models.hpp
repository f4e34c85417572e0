// The three accept loops of gotit-blocking, and the accept step they share.
// Each loop returns once a stop is requested, after taking the clients still
// queued on the listener (accept_queued), closing it (stop accepting: later
// clients are refused) and waiting for its connections to answer what they
// had received.
#pragma once

#include <chrono>
#include <optional>

#include "counters.hpp"
#include "session.hpp"
#include "stop_signal.hpp"
#include "gotit/common/refuse_handshakes.hpp"

namespace gotit::blocking {

// Every session bounds its own stop by --shutdown-timeout; a stopping
// server waits this much longer for them before it cuts off whoever is left
// (a backstop: it should find nobody).
inline constexpr std::chrono::seconds kStopBackstop{1};

struct ModelContext {
  UniqueFd& listener;  // non-blocking; the loop closes it when stopping
  ReplyMode reply;
  SessionLimits limits;
  StopSignal& stop;
  Counters& counters;
};

void run_iterative(ModelContext& context);
void run_threads(ModelContext& context);
void run_fork(ModelContext& context);

// What woke an accept loop.
enum class Wake { client, stop, other };

// The one place an accept loop waits: poll() on the listener, the stop pipe
// and optionally one more fd, for at most timeout_ms (-1: no limit).
// Wake::other means other_fd is readable or the time ran out.
Wake wait_for_client(int listener, int stop_fd, int other_fd = -1, int timeout_ms = -1);

// accept4() one waiting client (its writes are bounded by the session:
// SessionLimits::write_timeout).
// nullopt if it already left, or when out of file descriptors (logged, then
// a short pause so the loop does not spin).
std::optional<AcceptedClient> accept_client(int listener, int stop_fd);

// Once a stop is requested, before the listener closes: refuses new
// handshakes (refuse_handshakes.hpp), accepts the clients still queued
// (kMaxQueuedAtStop says why) and hands each to `serve`, which sees the stop
// at once: it answers what has arrived and ends with FIN. Ends when the
// queue is empty or accept fails (logged by accept_client).
template <class Serve>
void accept_queued(int listener, int stop_fd, Serve&& serve) {
  refuse_new_handshakes(listener);
  for (int taken = 0; taken < kMaxQueuedAtStop; ++taken) {
    std::optional<AcceptedClient> client = accept_client(listener, stop_fd);
    if (!client) return;
    serve(std::move(*client));
  }
}

}  // namespace gotit::blocking

// The three accept loops of gotit-blocking, and the accept step they share.
// Each loop returns once a stop is requested, after closing the listener
// (stop accepting: queued clients are refused by the kernel) and waiting
// for its connections to answer what they had received.
#pragma once

#include <chrono>
#include <optional>

#include "counters.hpp"
#include "session.hpp"
#include "stop_signal.hpp"

namespace gotit::blocking {

// How long a stopping server waits for its connections (a client that never
// reads its replies can block a write forever) before cutting them off.
inline constexpr std::chrono::seconds kStopGrace{5};


struct ModelContext {
  UniqueFd& listener;  // non-blocking; the loop closes it when stopping
  ReplyMode reply;
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

// accept4() one waiting client, its writes bounded by kSlowReaderTimeout
// (protocol.hpp, SO_SNDTIMEO): without it a client that takes none of its
// replies would hold a thread or process forever -- and in the iterative
// model, the server.
// nullopt if it already left, or when out of file descriptors (logged, then
// a short pause so the loop does not spin).
std::optional<AcceptedClient> accept_client(int listener, int stop_fd);

}  // namespace gotit::blocking

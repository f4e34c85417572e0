// A full worker steps out of the port (gotit-reactor --workers, worker mode).
//
// With SO_REUSEPORT the kernel hashes each new connection's addresses to one
// of the listening sockets on the port and queues it there, whatever that
// worker's load. A worker at --max-conns that merely stopped accepting would
// keep receiving its share: its accept queue fills, then the SYNs hashed to
// it are dropped, and a client's retried SYN hashes to the same socket again
// (same addresses, same hash). So a full worker closes its listening socket:
// the kernel takes it out of the port's group and spreads new connections
// over the workers that still listen.
//
// What is already queued on that socket when the worker fills up decides
// how it closes. With net.ipv4.tcp_migrate_req = 1 the kernel moves a closed
// listener's queue (and its half-open handshakes) to another listener of the
// group, so the worker closes at once, from inside libevent's accept loop
// (the kernel still resets one now and then when several workers fill at
// once: docs/benchmarks.md, "The full worker, measured").
// Without it, the kernel resets what the closed socket held, so the worker
// first lets libevent accept until EAGAIN, takes those from its descriptor
// reserve (kFullOverflow), turns away any beyond that with "server full",
// and closes after: a handshake that completes in that last moment is still
// reset. Once connections close and there is room again, the worker listens
// again: each close while it is full runs check_room (through
// ServingContext::room_check), so a full worker whose peers stay sleeps
// like any idle one -- no timer wakes it to look.
#include <algorithm>

#include "gotit/common/log.hpp"
#include "gotit/reactor/server.hpp"

namespace gotit {
namespace {

// Connections a full worker still takes while libevent drains its queue,
// out of the descriptors kept in reserve (kReservedFds in common/start_up.cpp).
constexpr std::uint64_t kFullOverflow = 32;

// Listen again only once more than min(kReopenMargin, max_conns / 4)
// below the limit, so one close does not make the worker open and close its
// socket over and over (the quarter: for a small --max-conns).
constexpr std::uint64_t kReopenMargin = 32;

// When listening again failed (out of descriptors or memory), try after this.
constexpr timeval kListenRetry{0, 100'000};

}  // namespace

// Called from accept_one when the worker is at --max-conns: closes the
// listener now or queues the close (see the top of this file), and says
// whether this connection may still be taken from the overflow reserve.
bool ReactorServer::note_full() {
  if (!options_.close_listener_when_full) return false;
  if (kernel_migrates_queue_ && listener_) {
    // libevent allows freeing the listener from its own callback: it accepts
    // nothing more and closes the socket when this callback returns.
    close_full_listener();
  } else if (!full_close_pending_ && listener_) {
    full_close_pending_ = true;
    event_active(full_check_.get(), EV_TIMEOUT, 0);
  }
  return context_.stats.open.get() < max_conns_ + kFullOverflow;
}

// The full-check event: queued by note_full, then by each release while the
// listener is closed; a timer only to retry a failed listen.
void ReactorServer::on_full_check(evutil_socket_t, short, void* self) noexcept {
  try {
    static_cast<ReactorServer*>(self)->check_room();
  } catch (const std::exception& failure) {
    // Listening again failed (out of descriptors or memory): try later.
    log::error("listening again: {}", failure.what());
    evtimer_add(static_cast<ReactorServer*>(self)->full_check_.get(), &kListenRetry);
  }
}

void ReactorServer::check_room() {
  if (context_.stopping || awaiting_first_requests()) return;  // no new listener: the stop drains this one
  const std::uint64_t open = context_.stats.open.get();
  if (listener_) {
    full_close_pending_ = false;
    if (open < max_conns_) return;  // peers left while the close was queued
    close_full_listener();
  } else if (open + std::min<std::uint64_t>(kReopenMargin, max_conns_ / 4) < max_conns_) {
    start_listening();
    context_.room_check = nullptr;
    log::at(log::Level::connection, "room again ({} open): listening", open);
  }
}

void ReactorServer::close_full_listener() {
  listener_.reset();  // closes the socket: the kernel forgets it
  listening_fd_ = -1;
  context_.room_check = full_check_.get();
  event_del(resume_accepting_.get());
  context_.stats.listener_closes.add();
  log::at(log::Level::connection, "full ({} open): listening socket closed", context_.stats.open.get());
}

}  // namespace gotit

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
// group. Without it, the kernel resets what the closed socket held, so the
// worker lets libevent accept what is queued, takes those from its
// descriptor reserve (kFullOverflow) and turns away any beyond that with
// "server full".
//
// Either way the close must not meet a handshake half done. The kernel
// completes a handshake on the socket that answered the SYN, without that
// socket's lock; as we read its source, a close() that lands between the
// client's last ACK and the new connection joining the accept queue makes
// the kernel reset that connection, and counts no failure. Closing at once,
// four workers filled within 0.1 s lost one connection in about one fill
// in ten (docs/benchmarks.md, "The full worker, measured"). So a full
// worker first drops new SYNs on its socket (the stop's filter,
// refuse_handshakes.hpp) and closes it kHandshakesUnderWay later, when the
// handshakes it had begun are done. A client whose SYN is dropped meanwhile
// sends it again a second later, to a worker that listens.
//
// Once connections close and there is room again, the worker listens
// again: each close while it is full runs check_room (through
// ServingContext::room_check), so a full worker whose peers stay sleeps
// like any idle one -- no timer wakes it to look.
#include <algorithm>

#include <event2/listener.h>

#include "gotit/common/log.hpp"
#include "gotit/common/refuse_handshakes.hpp"
#include "gotit/reactor/server.hpp"

namespace gotit {
namespace {

// How long a full worker waits, with new SYNs dropped, for the handshakes
// under way on its socket before it closes it: a loopback or LAN round trip
// is well under it; each SYN dropped meanwhile costs its client a second.
constexpr timeval kHandshakesUnderWay{0, 5'000};

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

// Called from accept_one when the worker is at --max-conns: begins the
// close (see the top of this file), and says whether this connection may
// still be taken from the overflow reserve.
bool ReactorServer::note_full() {
  if (!options_.close_listener_when_full) return false;
  // While the worker listens, only this arms the full-check timer: pending,
  // the close has begun.
  if (listener_ && !evtimer_pending(full_check_.get(), nullptr)) {
    refuse_new_handshakes(listening_fd_);
    // The kernel will move the queue: accept no more (libevent allows this
    // from inside its own accept callback).
    if (kernel_migrates_queue_) evconnlistener_disable(listener_.get());
    evtimer_add(full_check_.get(), &kHandshakesUnderWay);
  }
  return context_.stats.open.get() < max_conns_ + kFullOverflow;
}

// The full-check event: the timer note_full sets, then each release while
// the listener is closed, and a timer again to retry a failed listen.
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
  if (listener_) {
    // The close note_full began: SYNs are dropped on this socket now, so it
    // closes even if peers left meanwhile, and listens anew below if so.
    close_full_listener();
  }
  const std::uint64_t open = context_.stats.open.get();
  if (open + std::min<std::uint64_t>(kReopenMargin, max_conns_ / 4) < max_conns_) {
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

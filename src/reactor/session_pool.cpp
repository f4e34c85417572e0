// Sessions kept spare, bufferevent and all, for the next accepted sockets.
//
// Why: under connection churn (connect, one request, close) a new
// bufferevent per connection was the reactor's main cost over a raw epoll
// server's: bufferevent_socket_new makes five allocations (the bufferevent,
// two evbuffers, the output's callback entry, our list node), zeroes them,
// assigns two events; bufferevent_free undoes it all through a finalizer
// the loop runs on its next turn. A closed session's bufferevent is as good
// as new once its socket is closed and its buffers are empty, and
// bufferevent_setfd gives it the next socket. The system calls stay the
// same (epoll_ctl DEL and close at the end, ADD at the start): only user
// space gets cheaper -- malloc/free per connection 0.43 -> 0.03 us, all of
// user space 2.53 -> 2.20 us, in perf samples (scripts/bench-conn-cpu.sh
// PERF=1; docs/benchmarks.md, section 8).
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "gotit/common/log.hpp"
#include "gotit/reactor/session.hpp"

namespace gotit {
namespace {

// Enough for churn (only the sessions closed since the last accepts wait
// here); a bound, so a burst of closes does not keep a burst's worth of
// bufferevents (each with its two evbuffers, empty) for good.
constexpr std::size_t kMaxSpareSessions = 256;

}  // namespace

bool ServingContext::take_spare_or_new(evutil_socket_t fd) {
  if (!spare.empty() && spare.front().reuse(fd)) {
    sessions.splice(sessions.begin(), spare, spare.begin());
    return true;
  }
  BufferEventPtr bev(bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE));
  if (!bev) return false;
  sessions.emplace_front(*this, std::move(bev));
  return true;
}

void ServingContext::keep_spare_or_free(SessionList::iterator where) {
  if (spare.size() < kMaxSpareSessions && where->recycle()) {
    spare.splice(spare.begin(), sessions, where);
  } else {
    sessions.erase(where);  // ~Session frees the bufferevent, closing the socket
  }
}

// Only a clean bufferevent is kept: one with output still queued (a peer
// reset, cut or timed out) is freed, which is rare and drops the output as
// before. Reading and writing are off first, so the socket leaves epoll
// (EPOLL_CTL_DEL, as bufferevent_free would) before it is closed.
bool Session::recycle() {
  bufferevent* bev = bev_.get();
  if (evbuffer_get_length(bufferevent_get_input(bev)) != 0 ||
      evbuffer_get_length(bufferevent_get_output(bev)) != 0) {
    return false;
  }
  // On failure it still holds the socket: freeing it closes that.
  // Writing is enabled again when a reply is queued (Session::flush_replies).
  if (bufferevent_disable(bev, EV_READ | EV_WRITE) != 0) return false;
  // start() adds the trace callback again for the next connection.
  if (context_.trace) evbuffer_remove_cb(bufferevent_get_output(bev), on_output_traced, this);
  bufferevent_setwatermark(bev, EV_WRITE, 0, 0);  // as bufferevent_socket_new leaves it
  if (bufferevent_setfd(bev, -1) != 0) return false;
  if (::close(fd_) != 0) {
    const int error = errno;
    log::error("close: fd {}: {}", fd_, std::strerror(error));
  }
  replier_ = Replier{};  // a split line's bytes, if any, go
  return true;
}

// The callbacks, timeouts and events are set by start() as for a new one.
bool Session::reuse(evutil_socket_t fd) {
  if (bufferevent_setfd(bev_.get(), fd) != 0) return false;
  fd_ = fd;
  state_ = SessionState::reading;
  discard_deadline_ = {};
  return true;
}

}  // namespace gotit

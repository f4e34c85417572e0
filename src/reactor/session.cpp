#include "gotit/reactor/session.hpp"

#include <event2/buffer.h>
#include <event2/util.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <utility>

#include "gotit/reactor/bufferevent_read_event.hpp"
#include "gotit/common/keepalive.hpp"
#include "gotit/common/log.hpp"

namespace gotit {
namespace {

// While a long pipeline is framed, replies are sent whenever this much has
// gathered, so the shared scratch buffer stays small.
constexpr std::size_t kFlushChunk = 16 * 1024;

// How much one connection may read in one turn of the loop before the
// others get theirs: what libevent's own reader takes (one 4 KiB read). The
// socket is level-triggered, so the rest is reported again next turn.
constexpr std::size_t kReadSharePerTurn = 4096;

timeval to_timeval(std::chrono::seconds seconds) {
  return timeval{static_cast<time_t>(seconds.count()), 0};
}

std::size_t queued_output(bufferevent* bev) {
  return evbuffer_get_length(bufferevent_get_output(bev));
}

}  // namespace

// --- ServingContext -----------------------------------------------------------

bool ServingContext::adopt(evutil_socket_t fd) {
  if (!take_spare_or_new(fd)) return false;
  stats.accepted.add();
  stats.open.add();
  if (stats.open.get() > stats.peak.get()) stats.peak.set(stats.open.get());
  sessions.front().start(sessions.begin());  // may release it again
  return true;
}

void ServingContext::release(SessionList::iterator where) {
  keep_spare_or_free(where);
  stats.open.subtract();
  if (room_check != nullptr) event_active(room_check, EV_TIMEOUT, 0);
  if (stopping && sessions.empty()) event_base_loopexit(base, nullptr);
}

// An idle peer costs about 1.1 KiB (docs/benchmarks.md, memory); the Session
// is 56 bytes of it, and must not grow unnoticed.
static_assert(sizeof(Session) <= 56, "Session grew: every idle peer pays for it");

// --- Session: set-up ---------------------------------------------------------

Session::Session(ServingContext& context, BufferEventPtr bev)
    : context_(context), bev_(std::move(bev)), fd_(bufferevent_getfd(bev_.get())) {}

void Session::start(SessionList::iterator self) {
  self_ = self;
  bufferevent* bev = bev_.get();
  if (context_.reader == Reader::bufferevent) {
    bufferevent_setcb(bev, on_input, on_output_written, on_event, this);
  } else {
    bufferevent_setcb(bev, nullptr, on_output_written, on_write_trouble, this);
    if (!take_over_read_event(bev, on_readable)) {
      log::error("event_assign: cannot watch fd {}", fd_);
      return close_now();
    }
  }
  // The read timeout runs only while reading is enabled, so a throttled
  // peer is never "idle"; the write timeout runs only while output waits.
  const timeval idle = to_timeval(context_.idle_timeout);
  const timeval stalled = to_timeval(context_.write_timeout);
  if (bufferevent_set_timeouts(bev, context_.idle_timeout.count() > 0 ? &idle : nullptr,
                               &stalled) != 0 ||
      bufferevent_enable(bev, EV_READ) != 0) {
    log::error("bufferevent_enable: cannot watch fd {}", fd_);
    return close_now();
  }
  if (context_.trace) evbuffer_add_cb(bufferevent_get_output(bev), on_output_traced, this);
  log::at(log::Level::connection, "connection on fd {} ({} open)", fd_,
          context_.stats.open.get());
}

// --- Session: the callbacks ------------------------------------------------

void Session::on_readable(evutil_socket_t, short what, void* bev) noexcept {
  auto* session = static_cast<Session*>(reading_callback_arg(bev));
  if (session->context_.trace) session->trace_wake(Woken::read_event, what);
  session->handle_readable(what);
}
void Session::on_input(bufferevent*, void* self) noexcept {
  auto* session = static_cast<Session*>(self);
  if (session->context_.trace) session->trace_wake(Woken::input, 0);
  session->handle_readable(EV_READ);
}
void Session::on_event(bufferevent*, short what, void* self) noexcept {
  auto* session = static_cast<Session*>(self);
  if (session->context_.trace) session->trace_wake(Woken::bufferevent, what);
  if (what & BEV_EVENT_READING) return session->handle_read_event(what);
  session->handle_write_trouble(what);
}
void Session::on_output_written(bufferevent*, void* self) noexcept {
  static_cast<Session*>(self)->handle_output_written();
}
void Session::on_write_trouble(bufferevent*, short what, void* self) noexcept {
  auto* session = static_cast<Session*>(self);
  if (session->context_.trace) session->trace_wake(Woken::bufferevent, what);
  session->handle_write_trouble(what);
}

// --reader direct: EV_READ, the socket has bytes for us, or EOF, or an
// error -- or, with EV_TIMEOUT, it had none for the read timeout. This is
// the bufferevent's own read event pointed at us, so libevent has read
// nothing: we recv() straight into the tutorial's 256-byte buffer, one
// system call per read, where libevent's reader would make two (see
// bufferevent_read_event.hpp). The event is level-triggered: whatever we
// leave in the socket is reported again on the next turn, so we may stop
// early and be fair.
// --reader bufferevent: libevent has read (ioctl FIONREAD, readv) into the
// input evbuffer; we take the bytes out 256 at a time. EOF, the timeout and
// errors come through on_event instead.
void Session::handle_readable(short what) {
  if (what & EV_TIMEOUT) return handle_read_timeout();
  if (state_ == SessionState::discarding) return discard_input();
  // What libevent has read must all be taken now: no callback comes for
  // bytes already in the input evbuffer. (libevent reads at most 16 KiB a turn.)
  const std::size_t budget = context_.reader == Reader::bufferevent
                                 ? std::numeric_limits<std::size_t>::max()
                                 : kReadSharePerTurn;
  ReadStop stop = read_requests(budget, ReadUntil::short_read);
  if (stop == ReadStop::peer_gone || !flush_replies()) return close_now();
  // A pass stops at the output high-water mark. If the flush got it all
  // into the kernel there is no throttle, and with --reader bufferevent the
  // bytes left in the input evbuffer would wait for a callback that never
  // comes: go on. (direct: they wait in the kernel; the event comes back.)
  while (stop == ReadStop::for_now && queued_output(bev_.get()) <= context_.output_high_water &&
         input_waiting()) {
    stop = read_requests(budget, ReadUntil::short_read);
    if (stop == ReadStop::peer_gone || !flush_replies()) return close_now();
  }
  switch (stop) {
    case ReadStop::for_now:
      return throttle_if_over_high_water();
    case ReadStop::eof:
      return finish_after_half_close();
    case ReadStop::oversized:
      log::at(log::Level::connection, "fd {}: line longer than {} bytes; closing",
              fd_, kMaxMessageBytes);
      return flush_then_discard();
    case ReadStop::peer_gone:
      return;  // closed above; listed so the switch stays exhaustive
  }
}

// --reader bufferevent: libevent's reader met EOF, the read timeout or an
// error. It has disabled reading already; the bytes it read before the EOF
// came through on_input first.
void Session::handle_read_event(short what) {
  if (what & BEV_EVENT_TIMEOUT) return handle_read_timeout();
  if (what & BEV_EVENT_EOF) {
    if (state_ == SessionState::discarding) {
      log::at(log::Level::connection, "fd {}: done discarding (peer closed)", fd_);
      return close_orderly();
    }
    return finish_after_half_close();
  }
  const int error = EVUTIL_SOCKET_ERROR();
  if (is_reaped_peer_error(error)) context_.stats.peers_reaped.add();
  log::at(log::Level::connection, "fd {}: read: {}; closing", fd_, std::strerror(error));
  close_now();
}

// Reads requests 256 bytes at a time and answers them into the scratch
// buffer, until a read comes back short (with ReadUntil::short_read: the
// socket is empty, a further recv would only say EAGAIN, a wasted system
// call), `budget` bytes are read, or the output passes the high-water mark.
// A bulk upload costs one recv per 256 bytes: the tutorial's buffer.
ReadStop Session::read_requests(std::size_t budget, ReadUntil until) {
  char buffer[kReadBufferBytes];
  std::size_t total = 0;
  for (;;) {
    const ssize_t n = read_some(buffer, sizeof buffer, until);
    if (n == 0) return ReadStop::eof;
    if (n < 0) {
      const int error = errno;
      if (error == EINTR) continue;
      if (error == EAGAIN || error == EWOULDBLOCK) return ReadStop::for_now;
      if (is_reaped_peer_error(error)) context_.stats.peers_reaped.add();
      log::at(log::Level::connection, "fd {}: recv: {}; closing", fd_, std::strerror(error));
      return ReadStop::peer_gone;
    }
    const auto got = static_cast<std::size_t>(n);
    context_.stats.bytes_in.add(got);
    const Replier::Framed framed =
        replier_.answer({buffer, got}, context_.reply, context_.replies, tracing());
    count(framed);
    if (framed.verdict == FeedResult::oversized) return ReadStop::oversized;
    if (context_.replies.size() >= kFlushChunk && !flush_replies()) return ReadStop::peer_gone;
    total += got;
    if ((until == ReadUntil::short_read && got < sizeof buffer) || total >= budget ||
        queued_output(bev_.get()) + context_.replies.size() > context_.output_high_water) {
      return ReadStop::for_now;
    }
  }
}

// Bytes libevent has read and we have not taken: only with --reader bufferevent.
bool Session::input_waiting() {
  return evbuffer_get_length(bufferevent_get_input(bev_.get())) > 0;
}

// --reader direct: recv() into our buffer. --reader bufferevent: copy out
// of the input evbuffer; when it is empty, that is EAGAIN -- except in the
// last pass at a stop, which goes on to recv() what the kernel still holds
// (libevent reads only when the loop turns, and it is not turning now).
ssize_t Session::read_some(char* buffer, std::size_t size, ReadUntil until) {
  if (context_.reader == Reader::bufferevent) {
    const std::size_t got = bufferevent_read(bev_.get(), buffer, size);
    if (got > 0) {
      context_.stats.bytes_via_input_buffer.add(got);
      return static_cast<ssize_t>(got);
    }
    if (until == ReadUntil::short_read) {
      errno = EAGAIN;
      return -1;
    }
  }
  const ssize_t n = ::recv(fd_, buffer, size, 0);
  if (context_.trace) trace::received(traced(), "recv", n, errno);
  return n;
}

// The peer half-closed (shutdown(SHUT_WR) or close): it sends no more but
// may still read. Answer the last partial line, flush, close.
void Session::finish_after_half_close() {
  count(replier_.answer_remainder(context_.reply, context_.replies, tracing()));
  log::at(log::Level::connection, "fd {}: peer finished sending", fd_);
  if (!flush_replies()) return close_now();
  flush_then_close();
}

// The read timeout: in `reading` it is the idle timeout; in `discarding`
// it is the lingering close's bound. Reading is off in every other state,
// and its timer with it.
void Session::handle_read_timeout() {
  if (state_ == SessionState::discarding) {
    log::at(log::Level::connection, "fd {}: done discarding (time is up)", fd_);
    return close_now();
  }
  context_.stats.idle_timeouts.add();
  log::at(log::Level::connection, "fd {}: idle for {} s; closing", fd_,
          context_.idle_timeout.count());
  flush_then_close();
}

// EV_WRITE: libevent wrote queued output (writev) and what is left fell to
// the write low-water mark. Nothing for us to write: while output remains
// libevent keeps EV_WRITE armed and writes on its own; we only move state.
void Session::handle_output_written() {
  switch (state_) {
    case SessionState::reading:
      return;  // a queued tail went out; we were never throttled
    case SessionState::throttled:
      set_state(SessionState::reading);
      bufferevent_setwatermark(bev_.get(), EV_WRITE, 0, 0);
      if (bufferevent_enable(bev_.get(), EV_READ) != 0) return close_now();
      // --reader bufferevent: bytes left in the input evbuffer when we
      // stopped get no new callback; answer them now. (direct: they wait
      // in the kernel, and the level-triggered event reports them.)
      if (input_waiting()) handle_readable(EV_READ);
      return;
    case SessionState::flushing_to_close:
      if (queued_output(bev_.get()) == 0) close_orderly();
      return;
    case SessionState::flushing_to_discard:
      if (queued_output(bev_.get()) == 0) start_discarding();
      return;
    case SessionState::discarding:
      return;  // nothing is written after the FIN
  }
}

// Not readiness but an outcome of it, reported by the bufferevent's writer:
// a write failed (the peer reset) or output waited longer than the write
// timeout for a peer that does not read. Either way nobody takes our replies.
void Session::handle_write_trouble(short what) {
  if (what & BEV_EVENT_TIMEOUT) {
    context_.stats.write_timeouts.add();
    log::at(log::Level::connection, "fd {}: took no output for {} s; closing", fd_,
            context_.write_timeout.count());
    return close_now();
  }
  const int error = EVUTIL_SOCKET_ERROR();
  if ((what & BEV_EVENT_ERROR) && is_reaped_peer_error(error)) context_.stats.peers_reaped.add();
  log::at(log::Level::connection, "fd {}: {}; closing", fd_,
          (what & BEV_EVENT_ERROR) ? std::strerror(error) : "connection ended");
  close_now();
}

// --- Session: replies and state changes ------------------------------------

void Session::count(Replier::Framed framed) {
  context_.stats.messages.add(framed.messages);
}

// Why not simply bufferevent_write()? It only appends to the output
// evbuffer. libevent then arms EV_WRITE (epoll_ctl MOD), goes round the loop
// to hear from epoll_wait that the socket is writable -- which a socket with
// room in its send buffer always is -- writes with writev, and disarms EV_WRITE
// again (another epoll_ctl) once the output is empty: three extra system
// calls and a loop turn per request, measured with strace -c. So, as redis
// does, we write straight to the socket while nothing is queued, and wait
// for writability only when the kernel's send buffer is full: the unsent
// tail goes to bufferevent_write and libevent's write machinery takes over.
// With output already queued we append, or replies would overtake each other.
bool Session::flush_replies() {
  std::string_view pending = context_.replies;
  if (pending.empty()) return true;
  context_.stats.bytes_out.add(pending.size());
  bool alive = true;
  if (queued_output(bev_.get()) == 0) {
    for (;;) {
      const ssize_t sent = ::send(fd_, pending.data(), pending.size(), MSG_NOSIGNAL);
      if (context_.trace) trace::sent(traced(), sent, pending.size(), errno);
      if (sent >= 0) {
        // A short write means the send buffer is full: the next send would
        // only say EAGAIN, so stop here and queue the rest.
        pending.remove_prefix(static_cast<std::size_t>(sent));
        break;
      }
      const int error = errno;
      if (error == EINTR) continue;
      if (error != EAGAIN && error != EWOULDBLOCK) {
        log::at(log::Level::connection, "fd {}: send: {}; closing", fd_, std::strerror(error));
        alive = false;
      }
      break;
    }
  }
  if (alive && !pending.empty() && context_.trace) trace_queued(pending.size());
  if (alive && !pending.empty() &&
      bufferevent_write(bev_.get(), pending.data(), pending.size()) != 0) {
    log::error("bufferevent_write: cannot queue {} bytes", pending.size());
    alive = false;
  }
  // A new bufferevent starts with writing enabled; a reused one (see
  // session_pool.cpp) does not, and enabling it with nothing queued would
  // only cost a wake-up: so here, where something is queued. Without it a
  // reused session's tail would never leave, nor its write timeout run.
  if (alive && !pending.empty() && (bufferevent_get_enabled(bev_.get()) & EV_WRITE) == 0 &&
      bufferevent_enable(bev_.get(), EV_WRITE) != 0) {
    log::error("bufferevent_enable: cannot write to fd {}", fd_);
    alive = false;
  }
  context_.replies.clear();
  return alive;
}

// Backpressure: a peer that sends requests but does not read the replies
// would otherwise make us queue replies without end. Above the high-water
// mark we stop reading it (its requests wait in the kernel, and TCP's own
// flow control then stops the peer); the write callback resumes us once
// the output has halved.
void Session::throttle_if_over_high_water() {
  const std::size_t queued = queued_output(bev_.get());
  if (queued <= context_.output_high_water) return;
  set_state(SessionState::throttled);
  context_.stats.slow_reader_throttles.add();
  bufferevent_disable(bev_.get(), EV_READ);
  bufferevent_setwatermark(bev_.get(), EV_WRITE, context_.output_high_water / 2, 0);
  log::at(log::Level::connection, "fd {}: {} bytes queued; not reading until half of that",
          fd_, queued);
}

// Freeing a bufferevent does not flush it: queued replies would be lost. So
// every orderly close stops reading, waits for the write callback to report
// an empty output (low-water mark 0), and frees only then.
void Session::flush_then_close() {
  set_state(SessionState::flushing_to_close);
  bufferevent_disable(bev_.get(), EV_READ);
  if (queued_output(bev_.get()) == 0) return close_orderly();
  bufferevent_setwatermark(bev_.get(), EV_WRITE, 0, 0);
}

// Like flush_then_close, but the peer may still be sending (it had no reason
// to stop before it read our error reply): once the replies are out, discard.
void Session::flush_then_discard() {
  set_state(SessionState::flushing_to_discard);
  bufferevent_disable(bev_.get(), EV_READ);
  if (queued_output(bev_.get()) == 0) return start_discarding();
  bufferevent_setwatermark(bev_.get(), EV_WRITE, 0, 0);
}

// The output is empty, so the FIN goes right after the last reply. The peer
// sees EOF and closes; its EOF reaches us and we free with nothing unread.
void Session::start_discarding() {
  set_state(SessionState::discarding);
  // The read timeout restarts at every read, so a peer dribbling bytes is
  // cut by the deadline at its first read after the bound (twice it at most).
  // At a stop neither: the server's stop timer bounds every session.
  const bool stopping = context_.stopping;
  discard_deadline_ = stopping ? std::chrono::steady_clock::time_point::max()
                               : std::chrono::steady_clock::now() + kLingerBound;
  const timeval bound = to_timeval(kLingerBound);
  if (context_.trace) trace::event(traced(), "shutdown SHUT_WR (FIN after the last reply)");
  if (::shutdown(fd_, SHUT_WR) != 0) {
    const int error = errno;
    log::at(log::Level::connection, "fd {}: shutdown: {}; closing", fd_, std::strerror(error));
    return close_now();
  }
  if (bufferevent_set_timeouts(bev_.get(), stopping ? nullptr : &bound, nullptr) != 0 ||
      bufferevent_enable(bev_.get(), EV_READ) != 0) {
    log::error("bufferevent_enable: cannot watch fd {}", fd_);
    return close_now();
  }
}

// Readable while discarding: drop what came, one read a turn (4 KiB: this
// is throwaway, so fewer, larger reads), until EOF or the bound. With
// --reader bufferevent libevent has read it already: drop the input
// evbuffer's bytes (EOF comes through handle_read_event).
void Session::discard_input() {
  if (context_.reader == Reader::bufferevent) {
    evbuffer* input = bufferevent_get_input(bev_.get());
    if (context_.trace) trace_discard(evbuffer_get_length(input));
    if (evbuffer_drain(input, evbuffer_get_length(input)) != 0) return close_now();
    return close_if_past_discard_deadline();
  }
  char sink[kReadSharePerTurn];
  ssize_t n = 0;
  do {
    n = ::recv(fd_, sink, sizeof sink, 0);
    if (context_.trace) trace::received(traced(), "recv", n, errno);
  } while (n < 0 && errno == EINTR);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
    log::at(log::Level::connection, "fd {}: done discarding ({})", fd_,
            n == 0 ? "peer closed" : "peer gone");
    return n == 0 ? close_orderly() : close_now();
  }
  close_if_past_discard_deadline();
}

void Session::close_if_past_discard_deadline() {
  if (std::chrono::steady_clock::now() >= discard_deadline_) {
    log::at(log::Level::connection, "fd {}: still sending after {} s; closing", fd_,
            kLingerBound.count());
    close_now();
  }
}

void Session::close_orderly() {
  if (context_.stopping) context_.stats.drained.add();
  close_now();
}

void Session::close_now() {
  // The scratch buffer is shared by every connection, and every other path
  // leaves it empty (flush_replies clears it): replies for a peer that is
  // gone must not go to the next one.
  context_.replies.clear();
  if (context_.trace) trace::event(traced(), "close");
  log::at(log::Level::connection, "fd {}: closed ({} open)", fd_,
          context_.stats.open.get() - 1);
  context_.release(self_);  // destroys *this
}

// --- Session: server shutdown ----------------------------------------------

// Every state but the flushing ones ends in discarding: the peer may have
// sent more than we answer (or send more before it sees our FIN), and a
// close() with that unread would reset the connection and destroy replies
// it has not read yet. The stop timer (ReactorServer) bounds it all, so the
// idle and write timeouts go, and a discarding peer's 2 s bound with them.
void Session::begin_shutdown() {
  if (context_.trace) trace::event(traced(), "server stopping");
  if (bufferevent_set_timeouts(bev_.get(), nullptr, nullptr) != 0) {
    log::error("bufferevent_set_timeouts: fd {}", fd_);
  }
  switch (state_) {
    case SessionState::reading:
      if (!answer_what_has_arrived()) return close_now();
      return flush_then_discard();
    case SessionState::throttled:  // over the high-water mark: no last pass
      return flush_then_discard();
    case SessionState::flushing_to_close:  // the peer sent EOF: nothing unread
    case SessionState::flushing_to_discard:
      return;
    case SessionState::discarding:
      discard_deadline_ = std::chrono::steady_clock::time_point::max();
      return;
  }
}

void Session::cut() {
  context_.stats.cut.add();
  if (context_.trace) trace::event(traced(), "cut: the stop's time is up");
  log::at(log::Level::connection, "fd {}: still open when the stop's time was up; cutting", fd_);
  close_now();
}

// One last non-blocking pass over what the kernel already holds for us, so
// requests sent before the signal get their replies. Stops at EAGAIN, EOF,
// a bad line, the output high-water mark or kStopPassBytes.
bool Session::answer_what_has_arrived() {
  const ReadStop stop = read_requests(kStopPassBytes, ReadUntil::empty);
  if (stop == ReadStop::peer_gone) return false;
  if (stop == ReadStop::eof) {
    count(replier_.answer_remainder(context_.reply, context_.replies, tracing()));
  }
  return flush_replies();
}

}  // namespace gotit

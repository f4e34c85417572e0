#include "gotit/reactor_connection.hpp"

#include <event2/buffer.h>
#include <event2/util.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "gotit/log.hpp"

namespace gotit {
namespace {

// Replies are sent in pieces of at most this much while a long pipeline is
// framed, so the shared scratch buffer stays small.
constexpr std::size_t kFlushChunk = 16 * 1024;

// How long a lingering close waits for the peer to finish. Bounded in time
// only, not in bytes: an honest peer that pipelined a big batch before it
// saw our error reply must be read to its end, or the close still resets;
// dropping input is cheap, so a rogue peer costs little more than a
// streaming one in `reading` would. The read timeout restarts at every read,
// so a peer dribbling bytes is cut at the first read after the bound: at
// most twice the bound in all.
constexpr std::chrono::seconds kDiscardBound{2};

timeval to_timeval(std::chrono::seconds seconds) {
  return timeval{static_cast<time_t>(seconds.count()), 0};
}

std::size_t queued_output(bufferevent* bev) {
  return evbuffer_get_length(bufferevent_get_output(bev));
}

}  // namespace

// --- ServingContext -----------------------------------------------------------

void ServingContext::adopt(BufferEventPtr bev) {
  connections.emplace_front(*this, std::move(bev));
  stats.accepted.add();
  stats.open.add();
  if (stats.open.get() > stats.peak.get()) stats.peak.set(stats.open.get());
  connections.front().start(connections.begin());  // may release it again
}

void ServingContext::release(ConnectionList::iterator where) {
  connections.erase(where);  // ~Connection frees the bufferevent, closing the socket
  stats.open.subtract();
  if (stopping && connections.empty()) event_base_loopexit(base, nullptr);
}

// --- Connection: set-up ---------------------------------------------------------

Connection::Connection(ServingContext& context, BufferEventPtr bev)
    : context_(context), bev_(std::move(bev)) {}

void Connection::start(ConnectionList::iterator self) {
  self_ = self;
  bufferevent* bev = bev_.get();
  bufferevent_setcb(bev, on_readable, on_output_drained, on_event, this);
  // The read timeout runs only while reading is enabled, so a throttled
  // peer is never "idle"; the write timeout runs only while output waits.
  const timeval idle = to_timeval(context_.idle_timeout);
  const timeval stalled = to_timeval(context_.write_timeout);
  if (bufferevent_set_timeouts(bev, context_.idle_timeout.count() > 0 ? &idle : nullptr,
                               &stalled) != 0 ||
      bufferevent_enable(bev, EV_READ) != 0) {
    log::error("bufferevent_enable: cannot watch fd {}", bufferevent_getfd(bev));
    return close_now();
  }
  log::at(log::Level::connection, "connection on fd {} ({} open)", bufferevent_getfd(bev),
          context_.stats.open.get());
}

// --- Connection: the callbacks ------------------------------------------------

void Connection::on_readable(bufferevent*, void* self) noexcept {
  static_cast<Connection*>(self)->handle_readable();
}
void Connection::on_output_drained(bufferevent*, void* self) noexcept {
  static_cast<Connection*>(self)->handle_output_drained();
}
void Connection::on_event(bufferevent*, short what, void* self) noexcept {
  static_cast<Connection*>(self)->handle_event(what);
}

// EV_READ: the socket was readable and libevent has already read from it
// once (ioctl(FIONREAD) to size the read, then readv of at most 4096 bytes)
// into the input evbuffer. We must take *everything* out of the input now:
// the callback runs when a read adds bytes, not while bytes sit there, so a
// request left behind would wait for the peer's next one -- maybe forever.
//
// About that ioctl: libevent 2.1's evbuffer_read asks the kernel how many
// bytes are waiting (FIONREAD) before every read, so it can size the chain it
// reads into -- an idle-heavy server then never holds 4 KiB chains for
// 6-byte requests. It costs one cheap system call per read, and nothing in
// the public API skips it: bufferevent_set_max_single_read and the read
// watermarks only cap the size *after* the ioctl. Pipelining amortises it
// (16 requests in flight: one ioctl per ~16 requests); ping-pong pays it
// each time: 3 system calls per request here (ioctl, readv, send) against
// memcached's 2 (read, sendmsg), measured with strace -c. Reading the socket
// ourselves would save it but costs a second struct event per connection
// (~130 bytes of the 1.1 KiB an idle peer may cost), so we keep it.
void Connection::handle_readable() {
  if (state_ == ConnectionState::discarding) return discard_input();
  evbuffer* input = bufferevent_get_input(bev_.get());
  context_.replies.clear();
  char buffer[kReadBufferBytes];  // the tutorial's buffer, read into in a loop
  FeedResult verdict = FeedResult::ok;
  for (;;) {
    const int n = evbuffer_remove(input, buffer, sizeof buffer);
    if (n <= 0) break;
    context_.stats.bytes_in.add(static_cast<std::uint64_t>(n));
    verdict = consume({buffer, static_cast<std::size_t>(n)});
    if (verdict == FeedResult::oversized) break;
    if (context_.replies.size() >= kFlushChunk && !flush_replies()) return close_now();
  }
  if (!flush_replies()) return close_now();
  if (verdict == FeedResult::oversized) {
    evbuffer_drain(input, evbuffer_get_length(input));  // the rest is not read
    log::at(log::Level::connection, "fd {}: line longer than {} bytes; closing",
            bufferevent_getfd(bev_.get()), kMaxMessageBytes);
    return drain_then_discard();
  }
  throttle_if_over_high_water();
}

// EV_WRITE: libevent wrote queued output (writev) and what is left fell to
// the write low-water mark. Nothing for us to drain: while output remains
// libevent keeps EV_WRITE armed and writes on its own; we only move state.
void Connection::handle_output_drained() {
  switch (state_) {
    case ConnectionState::reading:
      return;  // a queued tail went out; we were never throttled
    case ConnectionState::throttled:
      state_ = ConnectionState::reading;
      bufferevent_setwatermark(bev_.get(), EV_WRITE, 0, 0);
      if (bufferevent_enable(bev_.get(), EV_READ) != 0) return close_now();
      return;
    case ConnectionState::draining_to_close:
      if (queued_output(bev_.get()) == 0) close_now();
      return;
    case ConnectionState::draining_to_discard:
      if (queued_output(bev_.get()) == 0) start_discarding();
      return;
    case ConnectionState::discarding:
      return;  // nothing is written after the FIN
  }
}

// Not readiness but an outcome of it: a read returned 0 (EOF), a call
// failed, or a timeout expired. libevent has disabled the direction concerned.
void Connection::handle_event(short what) {
  const int fd = bufferevent_getfd(bev_.get());
  if (state_ == ConnectionState::discarding) {
    // EOF: the peer has closed, nothing is left unread. Timeout: the bound.
    log::at(log::Level::connection, "fd {}: done discarding ({})", fd,
            (what & BEV_EVENT_EOF)       ? "peer closed"
            : (what & BEV_EVENT_TIMEOUT) ? "time is up"
                                         : "peer gone");
    return close_now();
  }
  if ((what & BEV_EVENT_EOF) && (what & BEV_EVENT_READING)) {
    // Half-close: bytes after the last '\n' are one last message.
    context_.replies.clear();
    if (framer_.finish([this](std::string_view message) { answer(message); }) ==
        FeedResult::oversized) {
      context_.replies.append(kOversizedReply);
    }
    log::at(log::Level::connection, "fd {}: peer finished sending", fd);
    if (!flush_replies()) return close_now();
    return drain_then_close();
  }
  if (what & BEV_EVENT_TIMEOUT) {
    if (what & BEV_EVENT_READING) {
      context_.stats.idle_timeouts.add();
      log::at(log::Level::connection, "fd {}: idle for {} s; closing", fd,
              context_.idle_timeout.count());
      return drain_then_close();
    }
    context_.stats.write_timeouts.add();
    log::at(log::Level::connection, "fd {}: took no output for {} s; closing", fd,
            context_.write_timeout.count());
    return close_now();
  }
  const int error = EVUTIL_SOCKET_ERROR();
  log::at(log::Level::connection, "fd {}: {}; closing", fd,
          (what & BEV_EVENT_ERROR) ? std::strerror(error) : "connection ended");
  close_now();
}

// --- Connection: replies and state changes ------------------------------------

void Connection::answer(std::string_view message) {
  context_.stats.messages.add();
  log::at(log::Level::message, "Here is the message: {}", message);
  append_reply(context_.reply, message, context_.replies);
}

FeedResult Connection::consume(std::string_view bytes) {
  const FeedResult verdict =
      framer_.feed(bytes, [this](std::string_view message) { answer(message); });
  if (verdict == FeedResult::oversized) context_.replies.append(kOversizedReply);
  return verdict;
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
bool Connection::flush_replies() {
  std::string_view pending = context_.replies;
  if (pending.empty()) return true;
  context_.stats.bytes_out.add(pending.size());
  bool alive = true;
  if (queued_output(bev_.get()) == 0) {
    const int fd = bufferevent_getfd(bev_.get());
    for (;;) {
      const ssize_t sent = ::send(fd, pending.data(), pending.size(), MSG_NOSIGNAL);
      if (sent >= 0) {
        // A short write means the send buffer is full: the next send would
        // only say EAGAIN, so stop here and queue the rest.
        pending.remove_prefix(static_cast<std::size_t>(sent));
        break;
      }
      const int error = errno;
      if (error == EINTR) continue;
      if (error != EAGAIN && error != EWOULDBLOCK) {
        log::at(log::Level::connection, "fd {}: send: {}; closing", fd, std::strerror(error));
        alive = false;
      }
      break;
    }
  }
  if (alive && !pending.empty() &&
      bufferevent_write(bev_.get(), pending.data(), pending.size()) != 0) {
    log::error("bufferevent_write: cannot queue {} bytes", pending.size());
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
void Connection::throttle_if_over_high_water() {
  if (queued_output(bev_.get()) <= context_.output_high_water) return;
  state_ = ConnectionState::throttled;
  context_.stats.slow_reader_throttles.add();
  bufferevent_disable(bev_.get(), EV_READ);
  bufferevent_setwatermark(bev_.get(), EV_WRITE, context_.output_high_water / 2, 0);
  log::at(log::Level::connection, "fd {}: {} bytes queued; not reading until half of that",
          bufferevent_getfd(bev_.get()), queued_output(bev_.get()));
}

// Freeing a bufferevent does not flush it: queued replies would be lost. So
// every orderly close stops reading, waits for the write callback to report
// an empty output (low-water mark 0), and frees only then.
void Connection::drain_then_close() {
  state_ = ConnectionState::draining_to_close;
  bufferevent_disable(bev_.get(), EV_READ);
  if (queued_output(bev_.get()) == 0) return close_now();
  bufferevent_setwatermark(bev_.get(), EV_WRITE, 0, 0);
}

// Like drain_then_close, but the peer may still be sending (it had no reason
// to stop before it read our error reply): once the replies are out, discard.
void Connection::drain_then_discard() {
  state_ = ConnectionState::draining_to_discard;
  bufferevent_disable(bev_.get(), EV_READ);
  if (queued_output(bev_.get()) == 0) return start_discarding();
  bufferevent_setwatermark(bev_.get(), EV_WRITE, 0, 0);
}

// The output is empty, so the FIN goes right after the last reply. The peer
// sees EOF and closes; its EOF reaches us and we free with nothing unread.
void Connection::start_discarding() {
  const int fd = bufferevent_getfd(bev_.get());
  state_ = ConnectionState::discarding;
  discard_deadline_ = std::chrono::steady_clock::now() + kDiscardBound;
  const timeval bound = to_timeval(kDiscardBound);
  if (::shutdown(fd, SHUT_WR) != 0) {
    const int error = errno;
    log::at(log::Level::connection, "fd {}: shutdown: {}; closing", fd, std::strerror(error));
    return close_now();
  }
  if (bufferevent_set_timeouts(bev_.get(), &bound, nullptr) != 0 ||
      bufferevent_enable(bev_.get(), EV_READ) != 0) {
    log::error("bufferevent_enable: cannot watch fd {}", fd);
    return close_now();
  }
  discard_input();  // bytes read before the oversized verdict may wait there
}

void Connection::discard_input() {
  evbuffer* input = bufferevent_get_input(bev_.get());
  evbuffer_drain(input, evbuffer_get_length(input));
  if (std::chrono::steady_clock::now() >= discard_deadline_) {
    log::at(log::Level::connection, "fd {}: still sending after {} s; closing",
            bufferevent_getfd(bev_.get()), kDiscardBound.count());
    close_now();
  }
}

void Connection::close_now() {
  log::at(log::Level::connection, "fd {}: closed ({} open)", bufferevent_getfd(bev_.get()),
          context_.stats.open.get() - 1);
  context_.release(self_);  // destroys *this
}

// --- Connection: server shutdown ----------------------------------------------

// A lingering peer (draining_to_discard, discarding) is not waited for: it
// goes through drain_then_close too, freed once its replies are out.
void Connection::begin_shutdown() {
  if (state_ == ConnectionState::draining_to_close) return;
  if (state_ == ConnectionState::reading && !answer_what_has_arrived()) return close_now();
  drain_then_close();
}

// One last non-blocking pass over what the kernel already holds for us, so
// requests sent before the signal get their replies. Stops at EAGAIN, EOF,
// a bad line or the output high-water mark, whichever comes first.
bool Connection::answer_what_has_arrived() {
  const int fd = bufferevent_getfd(bev_.get());
  char buffer[kReadBufferBytes];
  context_.replies.clear();
  FeedResult verdict = FeedResult::ok;
  bool at_eof = false;
  while (verdict == FeedResult::ok &&
         queued_output(bev_.get()) + context_.replies.size() <= context_.output_high_water) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n > 0) {
      context_.stats.bytes_in.add(static_cast<std::uint64_t>(n));
      verdict = consume({buffer, static_cast<std::size_t>(n)});
    } else if (n == 0) {
      at_eof = true;
      break;
    } else if (errno != EINTR) {
      break;  // EAGAIN: nothing more has arrived; an error shows on the write
    }
  }
  if (at_eof && verdict == FeedResult::ok &&
      framer_.finish([this](std::string_view message) { answer(message); }) ==
          FeedResult::oversized) {
    context_.replies.append(kOversizedReply);
  }
  return flush_replies();
}

}  // namespace gotit

// One client, blocking style. Read it side by side with the reactor's
// session (diff -y src/blocking/session.cpp src/reactor/session.cpp): the
// protocol half (Replier, common/replier.hpp) and the steps are the same,
// in the same order and under the same names. What differs is who waits and
// where: here the client's own thread (or process) waits -- in poll() for
// bytes (wait_for_bytes) and for room (wait_for_room) -- while in the
// reactor one event loop waits for every peer at once and calls back.
#include "session.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <string_view>

#include "gotit/common/keepalive.hpp"
#include "gotit/common/log.hpp"
#include "gotit/common/replier.hpp"
#include "gotit/common/trace.hpp"

namespace gotit::blocking {
namespace {

using Clock = std::chrono::steady_clock;

// Why a session ended, as the -v log says it. `stopped` is the way to
// `drained` or `cut`.
enum class Ending { client_left, oversized, reset, not_reading, stopped, drained, cut, failed };

// A deadline passed while the replies waited for room: the client is not
// reading. `at_stop`: it was the stop's deadline.
struct OutOfTime {
  bool at_stop;
};

std::string_view describe(Ending ending) {
  switch (ending) {
    case Ending::client_left: return "client left";
    case Ending::oversized: return "line longer than 255 bytes";
    case Ending::reset: return "reset by peer";
    case Ending::not_reading: return "not reading its replies (write timed out)";
    case Ending::stopped: return "server stopping";
    case Ending::drained: return "server stopping: replies sent, FIN, client closed";
    case Ending::cut: return "server stopping: cut at --shutdown-timeout";
    case Ending::failed: break;
  }
  return "failed";
}

// What woke a session waiting for its client.
enum class Woke { readable, stop };

// One client on the calling thread (or process), start to end. Borrows the
// socket (the caller owns it); owns the Replier and the replies to one read.
// Errors are thrown (SystemError) and end the session in serve_client.
class Session {
 public:
  Session(const AcceptedClient& client, ReplyMode reply, const SessionLimits& limits, int stop_fd,
          Counters& counters)
      : fd_(client.fd.get()), stop_fd_(stop_fd), reply_(reply), limits_(limits),
        counters_(counters), accepted_at_(Clock::now()), peer_{client.id, fd_} {}

  // Serves until the client leaves, sends an oversized line or a stop comes.
  Ending serve();
  // FIN after the replies, then drop input until EOF or the bound: kLingerBound
  // after an oversized line, the stop's deadline at a stop (`why` stopped).
  // Returns `why`, or drained / cut during a stop.
  Ending linger(Ending why);

 private:
  Woke wait_for_bytes();
  void wait_for_first_request();
  ReadStop read_requests(std::size_t budget, ReadUntil until);
  ssize_t read_some(char* buffer, std::size_t size, ReadUntil until);
  void finish_after_half_close();
  void count(Replier::Framed framed);
  void flush_replies();
  void wait_for_room(Clock::time_point deadline);
  void start_discarding();
  bool discard_input(Clock::time_point deadline);
  Ending answer_what_has_arrived();
  void note_stop();
  // `deadline`, or the stop's if that comes first.
  Clock::time_point bounded(Clock::time_point deadline) const;
  // --trace: who we are in a trace line, for Replier; null when off.
  const trace::Peer* tracing() const { return limits_.trace ? &peer_ : nullptr; }
  void trace_state(std::string_view from, std::string_view to) const {
    if (limits_.trace) trace::state(peer_, from, to);
  }

  int fd_;
  int stop_fd_;
  ReplyMode reply_;
  SessionLimits limits_;
  Counters& counters_;
  Replier replier_;
  std::string replies_;  // the replies to one read, written at once
  bool stopping_ = false;          // the session has seen the stop pipe
  Clock::time_point stop_deadline_;  // while stopping: everything ends by then
  Clock::time_point accepted_at_;    // when serve_client began, near enough
  trace::Peer peer_;
};

// --- Session: the loop ----------------------------------------------------------

// Wait, read, answer, repeat: the tutorial's loop. The reactor's
// handle_readable is the body of this loop, called by the event loop.
Ending Session::serve() {
  for (;;) {
    if (wait_for_bytes() == Woke::stop) return answer_what_has_arrived();
    switch (read_requests(kReadBufferBytes, ReadUntil::short_read)) {
      case ReadStop::for_now:
        continue;
      case ReadStop::eof:
        finish_after_half_close();
        return Ending::client_left;
      case ReadStop::oversized:
        return Ending::oversized;
      case ReadStop::peer_gone:
        return Ending::reset;  // not reached: errors are thrown; listed for the switch
    }
  }
}

// The one place a session waits for its client: poll() on the socket and the
// stop pipe together, so a stop interrupts a client that says nothing.
Woke Session::wait_for_bytes() {
  for (;;) {
    pollfd waiting[2] = {{fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    const int ready = ::poll(waiting, 2, -1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) throw SystemError("poll", errno);
    if (waiting[1].revents != 0) {
      if (limits_.trace) trace::woke(peer_, "stop");
      note_stop();
      wait_for_first_request();
      return Woke::stop;
    }
    if (limits_.trace) trace::woke(peer_, "readable");
    return Woke::readable;  // POLLIN, POLLHUP or POLLERR: read() tells which
  }
}

// Reads requests 256 bytes at a time and answers each read's replies in one
// write, so a pipelining client costs one send per read. In service
// (ReadUntil::short_read) one read per wait: the read blocks, so a second
// could wait for bytes that never come. In the last pass at a stop
// (ReadUntil::empty) until EAGAIN, EOF or `budget` bytes.
ReadStop Session::read_requests(std::size_t budget, ReadUntil until) {
  char buffer[kReadBufferBytes];  // the tutorial's buffer: one read, at most 256 bytes
  std::size_t total = 0;
  for (;;) {
    const ssize_t n = read_some(buffer, sizeof buffer, until);
    if (n == 0) return ReadStop::eof;
    if (n < 0) {
      const int error = errno;
      if (error == EINTR) continue;
      if (error == EAGAIN || error == EWOULDBLOCK) return ReadStop::for_now;
      throw SystemError("read", error);
    }
    const auto got = static_cast<std::size_t>(n);
    counters_.bytes_in.fetch_add(got, std::memory_order_relaxed);
    const Replier::Framed framed = replier_.answer({buffer, got}, reply_, replies_, tracing());
    count(framed);
    flush_replies();
    if (framed.verdict == FeedResult::oversized) return ReadStop::oversized;
    total += got;
    if (until == ReadUntil::short_read || total >= budget) return ReadStop::for_now;
  }
}

// In service a blocking read(); in the last pass one that never waits.
ssize_t Session::read_some(char* buffer, std::size_t size, ReadUntil until) {
  if (until == ReadUntil::empty) {
    const ssize_t n = ::recv(fd_, buffer, size, MSG_DONTWAIT);
    if (limits_.trace) trace::received(peer_, "recv", n, errno);
    return n;
  }
  const ssize_t n = ::read(fd_, buffer, size);
  if (limits_.trace) trace::received(peer_, "read", n, errno);
  return n;
}

// The client half-closed: the bytes after the last '\n' are one last message.
void Session::finish_after_half_close() {
  trace_state("reading", "flushing_to_close");
  count(replier_.answer_remainder(reply_, replies_, tracing()));
  flush_replies();
}

// --- Session: replies and the lingering close -----------------------------------

void Session::count(Replier::Framed framed) {
  counters_.messages.fetch_add(framed.messages, std::memory_order_relaxed);
}

// The replies to one read go out with non-blocking sends, and when the
// kernel's send buffer is full we poll for room -- with a deadline for the
// whole batch. (SO_SNDTIMEO would bound each send() instead, and restart at
// every partial one: a client taking a few bytes every few seconds would
// hold this thread, or in the iterative model the server, without limit.)
// The wait is the blocking model's backpressure: this thread (or process)
// waits; nobody else does -- except in the iterative model, where everyone does.
void Session::flush_replies() {
  if (replies_.empty()) return;
  const Clock::time_point deadline = Clock::now() + limits_.write_timeout;
  std::string_view pending = replies_;
  while (!pending.empty()) {
    const ssize_t sent = ::send(fd_, pending.data(), pending.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (limits_.trace) trace::sent(peer_, sent, pending.size(), errno);
    if (sent >= 0) {
      pending.remove_prefix(static_cast<std::size_t>(sent));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) throw SystemError("send", errno);
    wait_for_room(deadline);
  }
  counters_.bytes_out.fetch_add(replies_.size(), std::memory_order_relaxed);
  replies_.clear();
}

// Waits until the socket can take more, the stop pipe says stop (which
// brings the stop's deadline in) or the deadline passes (OutOfTime).
void Session::wait_for_room(Clock::time_point deadline) {
  for (;;) {
    const Clock::time_point until = bounded(deadline);
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now());
    if (left.count() <= 0) throw OutOfTime{stopping_ && until == stop_deadline_};
    pollfd waiting[2] = {{fd_, POLLOUT, 0}, {stopping_ ? -1 : stop_fd_, POLLIN, 0}};
    const int ready = ::poll(waiting, 2, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) throw SystemError("poll", errno);
    if (limits_.trace) {
      trace::woke(peer_, waiting[0].revents != 0 ? "writable" : ready == 0 ? "timeout" : "stop");
    }
    if (waiting[1].revents != 0) note_stop();
    if (waiting[0].revents != 0) return;  // room, or an error the next send reports
  }
}

// close() with unread bytes in the receive queue makes the kernel send RST,
// which discards our unsent replies and may destroy unread ones at the
// client. So, as nginx's lingering_close: FIN after the replies, then read
// and discard until the client closes or the bound passes.
Ending Session::linger(Ending why) {
  start_discarding();
  const Clock::time_point own =
      why == Ending::stopped ? Clock::time_point::max() : Clock::now() + kLingerBound;
  const bool client_closed = discard_input(own);
  // A client that closed after an oversized line ended for that line, even
  // if a stop came meanwhile; only a linger the stop began counts as drained.
  if (client_closed) return why == Ending::stopped ? Ending::drained : why;
  return stopping_ ? Ending::cut : why;
}

// The replies are all sent, so the FIN goes right after the last one.
void Session::start_discarding() {
  trace_state("reading", "discarding");
  if (limits_.trace) trace::event(peer_, "shutdown SHUT_WR (FIN after the last reply)");
  if (::shutdown(fd_, SHUT_WR) != 0) throw SystemError("shutdown", errno);
}

// Reads and drops input until EOF (true) or the deadline (false). A stop
// that comes meanwhile does not end it: it brings the stop's deadline in.
bool Session::discard_input(Clock::time_point deadline) {
  char sink[4096];
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(bounded(deadline) - Clock::now());
    if (left.count() <= 0) return false;
    pollfd waiting[2] = {{fd_, POLLIN, 0}, {stopping_ ? -1 : stop_fd_, POLLIN, 0}};
    const int ready = ::poll(waiting, 2, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) throw SystemError("poll", errno);
    if (waiting[1].revents != 0) note_stop();
    if (waiting[0].revents == 0) continue;
    if (limits_.trace) trace::woke(peer_, "readable");
    const ssize_t n = ::recv(fd_, sink, sizeof sink, MSG_DONTWAIT);
    if (limits_.trace) trace::received(peer_, "recv", n, errno);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (n < 0) throw SystemError("recv", errno);
    if (n == 0) return true;  // the client closed: nothing left unread
  }
}

void Session::note_stop() {
  if (stopping_) return;
  if (limits_.trace) trace::event(peer_, "server stopping");
  stopping_ = true;
  stop_deadline_ = Clock::now() + limits_.shutdown_timeout;
}

// kFirstRequestGrace: a session the stop finds younger than the grace
// waits until it is that old (or the stop's deadline) for bytes to read;
// answer_what_has_arrived then answers them.
void Session::wait_for_first_request() {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(
      bounded(accepted_at_ + kFirstRequestGrace) - Clock::now());
  if (left.count() <= 0) return;
  if (limits_.trace) trace::event(peer_, "just accepted: waiting for its first request");
  pollfd waiting{fd_, POLLIN, 0};
  while (::poll(&waiting, 1, static_cast<int>(left.count())) < 0 && errno == EINTR) {
  }
}

Clock::time_point Session::bounded(Clock::time_point deadline) const {
  return stopping_ ? std::min(deadline, stop_deadline_) : deadline;
}

// --- Session: server shutdown ---------------------------------------------------

// Serving is stopping: one last pass over the complete messages already in
// the socket (never waiting for more, at most kStopPassBytes), then the
// connection lingers (serve_client).
Ending Session::answer_what_has_arrived() {
  const ReadStop stop = read_requests(kStopPassBytes, ReadUntil::empty);
  if (stop == ReadStop::oversized) return Ending::oversized;
  if (stop == ReadStop::eof) finish_after_half_close();
  return Ending::stopped;
}

}  // namespace

void serve_client(const AcceptedClient& client, ReplyMode reply, const SessionLimits& limits,
                  int stop_fd, Counters& counters) {
  counters.connections.fetch_add(1, std::memory_order_relaxed);
  log::at(log::Level::connection, "connection from {}", client.peer);
  if (limits.trace) trace::accepted({client.id, client.fd.get()}, client.peer);
  Session session(client, reply, limits, stop_fd, counters);
  Ending ending = Ending::failed;
  std::string failure;
  try {
    ending = session.serve();
    if (ending == Ending::oversized || ending == Ending::stopped) ending = session.linger(ending);
  } catch (const OutOfTime& out) {
    ending = out.at_stop ? Ending::cut : Ending::not_reading;
  } catch (const SystemError& error) {
    const int code = error.error_number();
    if (is_reaped_peer_error(code)) counters.reaped.fetch_add(1, std::memory_order_relaxed);
    ending = code == ECONNRESET || code == EPIPE ? Ending::reset : Ending::failed;
    failure = error.what();
  } catch (const std::exception& error) {  // bad_alloc: lose this client, not the server
    failure = error.what();
  }
  if (ending == Ending::drained) counters.drained.fetch_add(1, std::memory_order_relaxed);
  if (ending == Ending::cut) counters.cut.fetch_add(1, std::memory_order_relaxed);
  if (limits.trace) {
    const std::string why{ending == Ending::failed ? std::string_view(failure) : describe(ending)};
    trace::event({client.id, client.fd.get()}, "close (" + why + ")");
  }
  if (ending == Ending::failed) {
    log::at(log::Level::connection, "closed {}: {}", client.peer, failure);
  } else {
    log::at(log::Level::connection, "closed {}: {}", client.peer, describe(ending));
  }
}

}  // namespace gotit::blocking

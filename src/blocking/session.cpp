// One client, blocking style. Read it side by side with the reactor's
// session (diff -y src/blocking/session.cpp src/reactor/session.cpp): the
// protocol half (Replier, common/replier.hpp) and the steps are the same,
// in the same order and under the same names. What differs is who waits and
// where: here the client's own thread (or process) waits -- in poll() for
// bytes (wait_for_bytes), in send() for room (flush_replies) -- while in the
// reactor one event loop waits for every peer at once and calls back.
#include "session.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string_view>

#include "gotit/common/keepalive.hpp"
#include "gotit/common/log.hpp"
#include "gotit/common/replier.hpp"

namespace gotit::blocking {
namespace {

// After a stop, a session answers the bytes already waiting in its socket,
// but no more than this: a peer that keeps streaming cannot delay the exit.
constexpr std::size_t kMaxLastPassBytes = 1 << 20;

// Why a session ended, as the -v log says it.
enum class Ending { client_left, oversized, reset, not_reading, stopped, failed };

std::string_view describe(Ending ending) {
  switch (ending) {
    case Ending::client_left: return "client left";
    case Ending::oversized: return "line longer than 255 bytes";
    case Ending::reset: return "reset by peer";
    case Ending::not_reading: return "not reading its replies (write timed out)";
    case Ending::stopped: return "server stopping";
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
  Session(int fd, ReplyMode reply, int stop_fd, Counters& counters)
      : fd_(fd), stop_fd_(stop_fd), reply_(reply), counters_(counters) {}

  // Serves until the client leaves, sends an oversized line or a stop comes.
  Ending serve();
  // FIN after the replies, then drop input until EOF, the bound or a stop.
  void linger();

 private:
  Woke wait_for_bytes();
  ReadStop read_requests(std::size_t budget, ReadUntil until);
  ssize_t read_some(char* buffer, std::size_t size, ReadUntil until);
  void finish_after_half_close();
  void count(Replier::Framed framed);
  void flush_replies();
  void start_discarding();
  void discard_input();
  Ending answer_what_has_arrived();

  int fd_;
  int stop_fd_;
  ReplyMode reply_;
  Counters& counters_;
  Replier replier_;
  std::string replies_;  // the replies to one read, written at once
  std::chrono::steady_clock::time_point discard_deadline_;  // while discarding
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
    if (waiting[1].revents != 0) return Woke::stop;
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
    const Replier::Framed framed = replier_.answer({buffer, got}, reply_, replies_);
    count(framed);
    flush_replies();
    if (framed.verdict == FeedResult::oversized) return ReadStop::oversized;
    total += got;
    if (until == ReadUntil::short_read || total >= budget) return ReadStop::for_now;
  }
}

// In service a blocking read(); in the last pass one that never waits.
ssize_t Session::read_some(char* buffer, std::size_t size, ReadUntil until) {
  if (until == ReadUntil::empty) return ::recv(fd_, buffer, size, MSG_DONTWAIT);
  return ::read(fd_, buffer, size);
}

// The client half-closed: the bytes after the last '\n' are one last message.
void Session::finish_after_half_close() {
  count(replier_.answer_remainder(reply_, replies_));
  flush_replies();
}

// --- Session: replies and the lingering close -----------------------------------

void Session::count(Replier::Framed framed) {
  counters_.messages.fetch_add(framed.messages, std::memory_order_relaxed);
}

void Session::flush_replies() {
  if (replies_.empty()) return;
  // Blocks while the client is not reading: the blocking model's
  // backpressure. This thread (or process) waits; nobody else does --
  // except in the iterative model, where everyone does. SO_SNDTIMEO
  // (kSlowReaderTimeout) bounds the wait.
  write_all(fd_, replies_);
  counters_.bytes_out.fetch_add(replies_.size(), std::memory_order_relaxed);
  replies_.clear();
}

// close() with unread bytes in the receive queue makes the kernel send RST,
// which discards our unsent replies and may destroy unread ones at the
// client. So, as nginx's lingering_close: FIN after the replies, then read
// and discard until the client closes, the bound passes or a stop comes.
void Session::linger() {
  start_discarding();
  discard_input();
}

void Session::start_discarding() {
  if (::shutdown(fd_, SHUT_WR) != 0) throw SystemError("shutdown", errno);
  discard_deadline_ = std::chrono::steady_clock::now() + kLingerBound;
}

void Session::discard_input() {
  char sink[4096];
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(
        discard_deadline_ - std::chrono::steady_clock::now());
    if (left.count() <= 0) return;
    pollfd waiting[2] = {{fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    const int ready = ::poll(waiting, 2, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) throw SystemError("poll", errno);
    if (ready == 0 || waiting[1].revents != 0) return;
    const ssize_t n = ::recv(fd_, sink, sizeof sink, MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (n < 0) throw SystemError("recv", errno);
    if (n == 0) return;  // the client closed: nothing left unread
  }
}

// --- Session: server shutdown ---------------------------------------------------

// Serving is stopping: one last pass over the complete messages already in
// the socket (never waiting for more), then the connection closes.
Ending Session::answer_what_has_arrived() {
  const ReadStop stop = read_requests(kMaxLastPassBytes, ReadUntil::empty);
  if (stop == ReadStop::oversized) return Ending::oversized;
  if (stop == ReadStop::eof) finish_after_half_close();
  return Ending::stopped;
}

}  // namespace

void serve_client(const AcceptedClient& client, ReplyMode reply, int stop_fd, Counters& counters) {
  counters.connections.fetch_add(1, std::memory_order_relaxed);
  log::at(log::Level::connection, "connection from {}", client.peer);
  Session session(client.fd.get(), reply, stop_fd, counters);
  Ending ending = Ending::failed;
  std::string failure;
  try {
    ending = session.serve();
    if (ending == Ending::oversized) session.linger();
  } catch (const SystemError& error) {
    const int code = error.error_number();
    if (is_reaped_peer_error(code)) counters.reaped.fetch_add(1, std::memory_order_relaxed);
    ending = code == ECONNRESET || code == EPIPE          ? Ending::reset
             : code == EAGAIN || code == EWOULDBLOCK ? Ending::not_reading
                                                     : Ending::failed;
    failure = error.what();
  } catch (const std::exception& error) {  // bad_alloc: lose this client, not the server
    failure = error.what();
  }
  if (ending == Ending::failed) {
    log::at(log::Level::connection, "closed {}: {}", client.peer, failure);
  } else {
    log::at(log::Level::connection, "closed {}: {}", client.peer, describe(ending));
  }
}

}  // namespace gotit::blocking

// One connection, blocking style. Read it side by side with the reactor's
// connection: the protocol half (Replier: bytes in, framer, replies out in one
// write per read) is the same in both. What differs is who waits and where:
// here the connection's own thread (or process) waits -- in poll() for bytes
// (wait_for_bytes), in send() for room (write_all) -- while in the reactor
// one event loop waits for every connection at once and calls back.
#include "session.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string_view>

#include "gotit/common/keepalive.hpp"
#include "gotit/common/log.hpp"

namespace gotit::blocking {
namespace {

// After a stop, a session answers the bytes already waiting in its socket,
// but no more than this: a peer that keeps streaming cannot delay the exit.
constexpr std::size_t kMaxDrainBytes = 1 << 20;

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

// The protocol half of a session: bytes in, replies out. One read's replies
// go out in one write, so a pipelining client costs one send per read.
class Replier {
 public:
  Replier(int fd, ReplyMode reply, Counters& counters)
      : fd_(fd), reply_(reply), counters_(counters) {}

  // Answers every complete message in `bytes`. Returns false when the
  // connection must close: the line was too long (and was answered so).
  bool answer(std::string_view bytes) {
    counters_.bytes_in.fetch_add(bytes.size(), std::memory_order_relaxed);
    const FeedResult result = framer_.feed(bytes, [this](std::string_view message) { on_message(message); });
    if (result == FeedResult::oversized) replies_.append(kOversizedReply);
    flush();
    return result == FeedResult::ok;
  }

  // At the peer's half-close: the bytes after the last '\n' are one last message.
  void answer_remainder() {
    if (framer_.finish([this](std::string_view message) { on_message(message); }) ==
        FeedResult::oversized) {
      replies_.append(kOversizedReply);
    }
    flush();
  }

 private:
  void on_message(std::string_view message) {
    log::at(log::Level::message, "Here is the message: {}", message);
    counters_.messages.fetch_add(1, std::memory_order_relaxed);
    append_reply(reply_, message, replies_);
  }

  void flush() {
    if (replies_.empty()) return;
    // Blocks while the client is not reading: the blocking model's
    // backpressure. This thread (or process) waits; nobody else does --
    // except in the iterative model, where everyone does. SO_SNDTIMEO
    // (kSlowReaderTimeout) bounds the wait.
    write_all(fd_, replies_);
    counters_.bytes_out.fetch_add(replies_.size(), std::memory_order_relaxed);
    replies_.clear();
  }

  int fd_;
  ReplyMode reply_;
  Counters& counters_;
  LineFramer framer_;
  std::string replies_;  // the replies to one read, written at once
};

enum class Woke { readable, stop };

// The one place a session waits for its client: poll() on the socket and the
// stop pipe together, so a stop interrupts a client that says nothing.
Woke wait_for_bytes(int fd, int stop_fd) {
  for (;;) {
    pollfd waiting[2] = {{fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
    const int ready = ::poll(waiting, 2, -1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) throw SystemError("poll", errno);
    if (waiting[1].revents != 0) return Woke::stop;
    return Woke::readable;  // POLLIN, POLLHUP or POLLERR: read() tells which
  }
}

// Serving is stopping: answer the complete messages already in the socket
// (never waiting for more), then let the connection close.
Ending drain(int fd, Replier& replier) {
  char buffer[kReadBufferBytes];
  std::size_t drained = 0;
  while (drained < kMaxDrainBytes) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n < 0) throw SystemError("read", errno);
    if (n == 0) {
      replier.answer_remainder();
      break;
    }
    if (!replier.answer({buffer, static_cast<std::size_t>(n)})) return Ending::oversized;
    drained += static_cast<std::size_t>(n);
  }
  return Ending::stopped;
}

Ending serve(int fd, Replier& replier, int stop_fd) {
  char buffer[kReadBufferBytes];  // the tutorial's buffer: one read, at most 256 bytes
  for (;;) {
    if (wait_for_bytes(fd, stop_fd) == Woke::stop) return drain(fd, replier);
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw SystemError("read", errno);
    if (n == 0) {
      replier.answer_remainder();
      return Ending::client_left;
    }
    if (!replier.answer({buffer, static_cast<std::size_t>(n)})) return Ending::oversized;
  }
}

// close() with unread bytes in the receive queue makes the kernel send RST,
// which discards our unsent replies and may destroy unread ones at the
// client. So, as nginx's lingering_close: FIN after the replies, then read
// and discard until the client closes, the bound passes or a stop comes.
void linger(int fd, int stop_fd) {
  if (::shutdown(fd, SHUT_WR) != 0) throw SystemError("shutdown", errno);
  const auto deadline = std::chrono::steady_clock::now() + kLingerBound;
  char discarded[4096];
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return;
    pollfd waiting[2] = {{fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
    const int ready = ::poll(waiting, 2, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) throw SystemError("poll", errno);
    if (ready == 0 || waiting[1].revents != 0) return;
    const ssize_t n = ::recv(fd, discarded, sizeof discarded, MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (n < 0) throw SystemError("recv", errno);
    if (n == 0) return;  // the client closed: nothing left unread
  }
}

}  // namespace

void serve_connection(const Connection& connection, ReplyMode reply, int stop_fd,
                      Counters& counters) {
  counters.connections.fetch_add(1, std::memory_order_relaxed);
  log::at(log::Level::connection, "connection from {}", connection.peer);
  Replier replier(connection.fd.get(), reply, counters);
  Ending ending = Ending::failed;
  std::string failure;
  try {
    ending = serve(connection.fd.get(), replier, stop_fd);
    if (ending == Ending::oversized) linger(connection.fd.get(), stop_fd);
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
    log::at(log::Level::connection, "closed {}: {}", connection.peer, failure);
  } else {
    log::at(log::Level::connection, "closed {}: {}", connection.peer, describe(ending));
  }
}

}  // namespace gotit::blocking

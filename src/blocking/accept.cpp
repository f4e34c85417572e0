// The accept step every model shares: wait, accept4(), name the peer.
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "models.hpp"
#include "gotit/common/log.hpp"

namespace gotit::blocking {

Wake wait_for_client(int listener, int stop_fd, int other_fd, int timeout_ms) {
  for (;;) {
    pollfd waiting[3] = {{listener, POLLIN, 0}, {stop_fd, POLLIN, 0}, {other_fd, POLLIN, 0}};
    const nfds_t count = other_fd >= 0 ? 3 : 2;
    const int ready = ::poll(waiting, count, timeout_ms);
    if (ready < 0 && errno == EINTR) continue;  // a signal: the stop pipe will say if it was ours
    if (ready < 0) throw SystemError("poll", errno);
    if (waiting[1].revents != 0) return Wake::stop;
    if (waiting[0].revents != 0) return Wake::client;
    return Wake::other;
  }
}

std::optional<AcceptedClient> accept_client(int listener, int stop_fd) {
  static std::uint64_t accepted = 0;  // the accepting thread is the only caller
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  // The new socket is blocking (accept4 does not inherit O_NONBLOCK): the
  // sessions are written in the blocking style.
  const int fd = ::accept4(listener, reinterpret_cast<sockaddr*>(&address), &length, SOCK_CLOEXEC);
  if (fd >= 0) {
    return AcceptedClient{UniqueFd(fd), format_address(reinterpret_cast<sockaddr*>(&address), length),
                          ++accepted};
  }
  const int error = errno;
  switch (error) {
    case EAGAIN:        // the client left between poll() and accept()
    case EINTR:
    case ECONNABORTED:
    case EPROTO:
      return std::nullopt;
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM: {
      // The client stays queued and the listener stays readable: pause
      // rather than spin, and try again (or stop) afterwards.
      log::error("accept: {} (pausing 100 ms)", std::strerror(error));
      pollfd waiting{stop_fd, POLLIN, 0};
      ::poll(&waiting, 1, 100);
      return std::nullopt;
    }
    default:
      throw SystemError("accept", error);
  }
}

}  // namespace gotit::blocking

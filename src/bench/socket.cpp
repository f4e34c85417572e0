#include "gotit/bench/socket.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>

namespace gotit {

Target resolve_target(const std::string& host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  const int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &list);
  if (rc != 0) {
    throw BenchError(fmt::format("cannot resolve '{}': {}", host,
                                 rc == EAI_SYSTEM ? std::strerror(errno) : gai_strerror(rc)));
  }
  Target target;
  std::memcpy(&target.address, list->ai_addr, list->ai_addrlen);
  target.length = list->ai_addrlen;
  freeaddrinfo(list);
  target.text = format_address(reinterpret_cast<const sockaddr*>(&target.address), target.length);
  return target;
}

bool is_ipv4_loopback(const Target& target) {
  if (target.address.ss_family != AF_INET) return false;
  const auto& v4 = reinterpret_cast<const sockaddr_in&>(target.address);
  return ntohl(v4.sin_addr.s_addr) >> 24 == 127;
}

void ensure_file_limit(std::uint64_t needed, std::string_view why) {
  // Raised to the hard limit, so the soft limit left is the hard one too.
  const std::uint64_t limit = raise_file_limit();
  if (limit >= needed) return;
  throw BenchError(fmt::format(
      "{} needs about {} open files, but this process may open only {} (the hard limit is {}). "
      "Ask for fewer, or raise the limit in the shell that starts gotit-bench: `ulimit -n {}` "
      "(up to the hard limit without privileges; beyond it, root must raise the hard limit, "
      "e.g. in /etc/security/limits.conf)",
      why, needed, limit, limit, needed));
}

ConnectStart start_connect(const Target& target, const SourceAddress* source) {
  ConnectStart start;
  UniqueFd fd(::socket(target.address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) {
    start.error = errno;
    return start;
  }
  if (source) {
    // Pick the port at connect time, per destination: without this, bind
    // reserves a port for every destination and the range runs out sooner.
    const int on = 1;
    if (source->address.ss_family == AF_INET &&
        setsockopt(fd.get(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on) != 0) {
      start.error = errno;
      return start;
    }
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&source->address), source->length) != 0) {
      start.error = errno;
      return start;
    }
  }
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&target.address), target.length) != 0) {
    if (errno != EINPROGRESS) {
      start.error = errno;
      return start;
    }
    start.in_progress = true;
  }
  start.fd = std::move(fd);
  return start;
}

int connect_result(int fd) {
  int result = 0;
  socklen_t length = sizeof result;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &result, &length) != 0) return errno;
  return result;
}

void set_nodelay(int fd) {
  const int on = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) != 0) {
    throw SystemError("setsockopt TCP_NODELAY", errno);
  }
}

ErrorKind connect_error_kind(int error_number) {
  if (error_number == ECONNREFUSED) return ErrorKind::connect_refused;
  if (error_number == ETIMEDOUT) return ErrorKind::connect_timeout;
  return ErrorKind::connect_failed;
}

}  // namespace gotit

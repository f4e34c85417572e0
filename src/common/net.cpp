#include "gotit/common/net.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fmt/format.h>
#include <vector>

namespace gotit {

SystemError::SystemError(std::string_view what_failed, int error_number)
    : std::runtime_error(
          fmt::format("{}: {}", what_failed, std::strerror(error_number))),
      error_number_(error_number) {}

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) reset(other.release());
  return *this;
}

int UniqueFd::release() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

void UniqueFd::reset(int fd) {
  // close() is not retried on EINTR: on Linux the descriptor is gone anyway.
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

long long parse_count(std::string_view what, std::string_view text,
                      long long min, long long max) {
  long long value = 0;
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc() || stop != end || value < min ||
      value > max) {
    throw UsageError(
        fmt::format("{} must be {}..{}, got '{}'", what, min, max, text));
  }
  return value;
}

std::uint16_t parse_port(std::string_view text) {
  return static_cast<std::uint16_t>(parse_count("port", text, 0, 65535));
}

std::string format_address(const sockaddr* address, socklen_t length) {
  char host[NI_MAXHOST];
  char service[NI_MAXSERV];
  const int rc = getnameinfo(address, length, host, sizeof host, service,
                             sizeof service, NI_NUMERICHOST | NI_NUMERICSERV);
  if (rc != 0) return "?";
  if (address->sa_family == AF_INET6) return fmt::format("[{}]:{}", host, service);
  return fmt::format("{}:{}", host, service);
}

std::uint16_t local_port(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw SystemError("getsockname", errno);
  }
  if (address.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<sockaddr_in6*>(&address)->sin6_port);
  }
  return ntohs(reinterpret_cast<sockaddr_in*>(&address)->sin_port);
}

namespace {

struct AddrInfoList {
  addrinfo* head = nullptr;
  ~AddrInfoList() {
    if (head) freeaddrinfo(head);
  }
};

// getaddrinfo, with its own error space turned into a message.
int resolve(const char* host, std::uint16_t port, int flags, AddrInfoList& out,
            std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = flags;
  const std::string service = std::to_string(port);
  const int rc = getaddrinfo(host, service.c_str(), &hints, &out.head);
  if (rc != 0) {
    error = rc == EAI_SYSTEM ? std::strerror(errno) : gai_strerror(rc);
  }
  return rc;
}

void check(int rc, std::string_view call, const std::string& where) {
  if (rc != 0) throw SystemError(fmt::format("{} {}", call, where), errno);
}

UniqueFd listen_on(const addrinfo& info, const ListenOptions& options) {
  const std::string where = format_address(info.ai_addr, info.ai_addrlen);
  int type = info.ai_socktype | SOCK_CLOEXEC;
  if (options.nonblocking) type |= SOCK_NONBLOCK;
  UniqueFd fd(::socket(info.ai_family, type, info.ai_protocol));
  if (!fd) throw SystemError(fmt::format("socket {}", where), errno);
  const int on = 1;
  // Restart without waiting out TIME_WAIT from the previous run.
  check(setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on),
        "setsockopt SO_REUSEADDR", where);
  if (info.ai_family == AF_INET6) {
    const int off = 0;  // one socket for IPv6 and IPv4-mapped clients
    check(setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off),
          "setsockopt IPV6_V6ONLY", where);
  }
  // On the listener, before listen(): every accepted socket inherits it.
  set_keepalive(fd.get(), options.tcp_keepalive);
  check(::bind(fd.get(), info.ai_addr, info.ai_addrlen), "bind", where);
  check(::listen(fd.get(), options.backlog), "listen", where);
  return fd;
}

}  // namespace

UniqueFd listen_tcp(const ListenOptions& options) {
  const char* host = options.bind_host.empty() ? nullptr : options.bind_host.c_str();
  AddrInfoList list;
  std::string error;
  if (resolve(host, options.port, AI_PASSIVE, list, error) != 0) {
    throw UsageError(fmt::format("cannot resolve bind address '{}': {}",
                                 options.bind_host, error));
  }
  // With no host, getaddrinfo offers [::] and 0.0.0.0: try [::] first, which
  // serves both families, and fall back only if the machine has no IPv6.
  std::vector<const addrinfo*> candidates;
  for (const addrinfo* it = list.head; it; it = it->ai_next) {
    if (it->ai_family == AF_INET6) candidates.push_back(it);
  }
  for (const addrinfo* it = list.head; it; it = it->ai_next) {
    if (it->ai_family != AF_INET6) candidates.push_back(it);
  }
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    try {
      return listen_on(*candidates[i], options);
    } catch (const SystemError& failure) {
      // A busy port is the answer; only a missing family is worth trying
      // the next address.
      const bool family_missing = failure.error_number() == EAFNOSUPPORT ||
                                  failure.error_number() == EADDRNOTAVAIL;
      if (!family_missing || i + 1 == candidates.size()) throw;
    }
  }
  throw UsageError("no address to listen on");
}

namespace {

// connect() on a non-blocking socket, then poll for the outcome, so a
// silent host costs at most `timeout`.
int connect_within(int fd, const addrinfo& info, std::chrono::milliseconds timeout) {
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) return errno;
  int result = 0;
  if (::connect(fd, info.ai_addr, info.ai_addrlen) != 0) {
    result = errno;
    if (result == EINPROGRESS) {
      pollfd waiting{fd, POLLOUT, 0};
      int ready;
      do {
        ready = ::poll(&waiting, 1, static_cast<int>(timeout.count()));
      } while (ready < 0 && errno == EINTR);
      if (ready < 0) return errno;
      if (ready == 0) return ETIMEDOUT;
      socklen_t length = sizeof result;
      if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &result, &length) != 0) return errno;
    }
  }
  if (fcntl(fd, F_SETFL, flags) != 0) return errno;
  return result;
}

}  // namespace

UniqueFd connect_tcp(const std::string& host, std::uint16_t port,
                     std::chrono::milliseconds timeout) {
  AddrInfoList list;
  std::string error;
  const int rc = resolve(host.c_str(), port, 0, list, error);
  if (rc != 0) {
    // No such name, or no resolver reachable to say (EAI_AGAIN, EAI_FAIL):
    // either way the user's fix is the host name or the resolver.
    const bool unresolved = rc == EAI_NONAME || rc == EAI_NODATA || rc == EAI_AGAIN || rc == EAI_FAIL;
    const ConnectFailure kind = unresolved ? ConnectFailure::unknown_host : ConnectFailure::other;
    throw ConnectError(kind, fmt::format("cannot resolve '{}': {}", host, error));
  }
  int last_error = 0;
  std::string last_address;
  for (addrinfo* it = list.head; it; it = it->ai_next) {
    last_address = format_address(it->ai_addr, it->ai_addrlen);
    UniqueFd fd(::socket(it->ai_family, it->ai_socktype | SOCK_CLOEXEC, it->ai_protocol));
    if (!fd) {
      last_error = errno;
      continue;
    }
    last_error = timeout.count() > 0 ? connect_within(fd.get(), *it, timeout)
                 : ::connect(fd.get(), it->ai_addr, it->ai_addrlen) == 0 ? 0 : errno;
    if (last_error == 0) return fd;
  }
  const ConnectFailure kind = last_error == ECONNREFUSED ? ConnectFailure::refused
                              : last_error == ETIMEDOUT  ? ConnectFailure::timeout
                                                         : ConnectFailure::other;
  throw ConnectError(kind, fmt::format("connect {}: {}", last_address,
                                       std::strerror(last_error)));
}

void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw SystemError("write", errno);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::uint64_t raise_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) throw SystemError("getrlimit", errno);
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) throw SystemError("setrlimit", errno);
  }
  return limit.rlim_cur;
}

void ignore_sigpipe() {
  struct sigaction action{};
  action.sa_handler = SIG_IGN;
  if (sigaction(SIGPIPE, &action, nullptr) != 0) throw SystemError("sigaction SIGPIPE", errno);
}

}  // namespace gotit

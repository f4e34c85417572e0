// Sockets without surprises: strict parsing of ports, getaddrinfo resolution
// (the tutorial's gethostbyname is obsolete and IPv4-only), an RAII file
// descriptor, the listening socket both servers share, and errors that name
// the call that failed and why.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "gotit/common/keepalive.hpp"

namespace gotit {

// A command line the program cannot run with. Tools exit 2 on it.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A failed system call: "bind [::]:3000: Address already in use".
// Captures errno at construction, before anything can overwrite it.
class SystemError : public std::runtime_error {
 public:
  SystemError(std::string_view what_failed, int error_number);
  int error_number() const { return error_number_; }

 private:
  int error_number_;
};

// Owns one file descriptor; closes it exactly once.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release();
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// "3000" -> 3000. Throws UsageError "port must be 0..65535, got '99999'".
std::uint16_t parse_port(std::string_view text);

// Parses a whole non-negative decimal number within [min, max]; `what`
// names it in the error ("backlog must be 1..65535, got 'x'").
long long parse_count(std::string_view what, std::string_view text,
                      long long min, long long max);

// "[::1]:3000" or "127.0.0.1:3000".
std::string format_address(const sockaddr* address, socklen_t length);

// The port a bound socket got (for --port 0).
std::uint16_t local_port(int fd);

struct ListenOptions {
  std::string bind_host;  // empty: every address, IPv6 and IPv4
  std::uint16_t port = 3000;
  int backlog = 4096;
  bool nonblocking = false;
  // TCP keepalive for every accepted socket, set once on the listener
  // (keepalive.hpp); 0: off.
  std::chrono::seconds tcp_keepalive = kDefaultTcpKeepalive;
};

// socket, SO_REUSEADDR, keepalive (set_keepalive), bind, listen. With no bind_host, one IPv6 socket
// that also accepts IPv4 (IPV6_V6ONLY off), falling back to 0.0.0.0 where
// the machine has no IPv6. Throws SystemError naming the address.
UniqueFd listen_tcp(const ListenOptions& options);

// Why a connection could not be made; the client maps these to exit codes.
enum class ConnectFailure { unknown_host, refused, timeout, other };

class ConnectError : public std::runtime_error {
 public:
  ConnectError(ConnectFailure kind, const std::string& message)
      : std::runtime_error(message), kind_(kind) {}
  ConnectFailure kind() const { return kind_; }

 private:
  ConnectFailure kind_;
};

// Resolves host with getaddrinfo and tries each address in turn, each
// within `timeout` (zero: the kernel's own). Returns a blocking socket.
UniqueFd connect_tcp(const std::string& host, std::uint16_t port,
                     std::chrono::milliseconds timeout);

// Writes all of `data`, looping over partial writes and EINTR. Uses send()
// with MSG_NOSIGNAL so a vanished peer is an error, not a SIGPIPE.
void write_all(int fd, std::string_view data);

// Raises the soft RLIMIT_NOFILE to the hard limit; returns the new limit.
std::uint64_t raise_file_limit();

// Ignores SIGPIPE for the whole process: a peer that resets must surface
// as EPIPE on the write, never kill the server.
void ignore_sigpipe();

}  // namespace gotit

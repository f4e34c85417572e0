// The bench's side of a connection: resolve the server once, open
// non-blocking connections (optionally from a chosen local address), and
// make sure the process may hold as many descriptors as it is asked to.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "gotit/bench_options.hpp"
#include "gotit/bench_result.hpp"
#include "gotit/net.hpp"

namespace gotit {

struct Target {
  sockaddr_storage address{};
  socklen_t length = 0;
  std::string text;  // "127.0.0.1:3000"
};

// getaddrinfo, first address. Throws BenchError for an unknown host.
Target resolve_target(const std::string& host, std::uint16_t port);

// Raises the soft RLIMIT_NOFILE to the hard limit and throws BenchError,
// explaining `ulimit -n`, if `needed` descriptors still do not fit.
void ensure_file_limit(std::uint64_t needed, std::string_view why);

struct ConnectStart {
  UniqueFd fd;
  bool in_progress = false;  // wait for writability, then connect_result()
  int error = 0;             // nonzero: failed at once (fd is empty)
};

// socket(SOCK_NONBLOCK), bind to `source` if given, connect.
ConnectStart start_connect(const Target& target, const SourceAddress* source);

// SO_ERROR after a non-blocking connect completed: 0 or an errno.
int connect_result(int fd);

// TCP_NODELAY: a request goes out as soon as it is written.
void set_nodelay(int fd);

ErrorKind connect_error_kind(int error_number);

}  // namespace gotit

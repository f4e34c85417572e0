// The bench's side of a connection: resolve the server once, open
// non-blocking connections (optionally from a chosen local address), and
// make sure the process may hold as many descriptors as it is asked to.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gotit/bench/options.hpp"
#include "gotit/bench/result.hpp"
#include "gotit/common/net.hpp"

namespace gotit {

struct Target {
  sockaddr_storage address{};
  socklen_t length = 0;
  std::string text;  // "127.0.0.1:3000"
};

// getaddrinfo, first address. Throws BenchError for an unknown host.
Target resolve_target(const std::string& host, std::uint16_t port);

// Why --source-addrs exists: Linux's connect() finds a free ephemeral port
// per source address and destination by scanning the range, ports of one
// parity first. Once half the range (14,116 ports by default) leads to the
// same server, every further connect scans all of that half first: about
// 0.5 ms each, most of the 3 s that 19,000 idle connections take from
// 127.0.0.1 alone. Every 127/8 address is local on Linux and has its own
// ports, so spreading over eight keeps each one's share far below that.
//
// Not the default: a server may trust 127.0.0.1 alone (redis in protected
// mode answers "-DENIED" to 127.0.0.2), so without the option the kernel
// chooses, and the bench suggests the option when a pool is that large.
inline constexpr std::string_view kLoopbackSources = "127.0.0.1-127.0.0.8";
inline constexpr int kFastConnectsFromOneAddress = 14'000;

// A server on 127.x.x.x, which kLoopbackSources can reach.
bool is_ipv4_loopback(const Target& target);

// Descriptors a run with `idle` held and `conns` active connections needs:
// one per socket, plus a margin for the event loop, stdio and files.
inline std::uint64_t descriptors_needed(int idle, int conns) {
  return static_cast<std::uint64_t>(idle) + static_cast<std::uint64_t>(conns) + 64;
}

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

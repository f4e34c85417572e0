// The start-up steps every gotit server takes, in one call, so that both
// servers begin alike: ignore SIGPIPE, raise the file limit, say how many
// connections fit.
#pragma once

#include <cstdint>
#include <string_view>

namespace gotit {

struct ServerCapacity {
  std::uint64_t file_limit = 0;   // RLIMIT_NOFILE after raising it
  std::uint64_t reserved = 0;     // descriptors kept back for everything not a peer
  std::uint64_t connections = 0;  // file_limit - reserved: the peers that fit
};

// Ignores SIGPIPE (a peer that resets surfaces as EPIPE, libevent's writev
// has no MSG_NOSIGNAL), raises the soft file limit to the hard one and says
// how many peers fit. Throws SystemError.
ServerCapacity raise_server_limits();

// raise_server_limits(), then logs
// "<server>: file limit N: up to M connections (R descriptors in reserve)".
ServerCapacity prepare_server_process(std::string_view server);

// A kernel setting as a number, e.g. read_sysctl("net/core/somaxconn") for
// /proc/sys/net/core/somaxconn; -1 where it is missing (another kernel).
long read_sysctl(std::string_view name);

}  // namespace gotit

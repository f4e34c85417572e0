#include "gotit/common/start_up.hpp"

#include <algorithm>
#include <fstream>
#include <string>

#include "gotit/common/log.hpp"
#include "gotit/common/net.hpp"

namespace gotit {
namespace {

// Descriptors kept back for everything that is not a peer: stdio, the
// listening socket, epoll's own fd, libevent's signal pipe, the stop pipe.
constexpr std::uint64_t kReservedFds = 64;

}  // namespace

ServerCapacity raise_server_limits() {
  ignore_sigpipe();
  ServerCapacity capacity;
  capacity.file_limit = raise_file_limit();
  capacity.reserved = std::min(kReservedFds, capacity.file_limit / 4);
  capacity.connections = capacity.file_limit - capacity.reserved;
  return capacity;
}

ServerCapacity prepare_server_process(std::string_view server) {
  const ServerCapacity capacity = raise_server_limits();
  log::info("{}: file limit {}: up to {} connections ({} descriptors in reserve)", server,
            capacity.file_limit, capacity.connections, capacity.reserved);
  return capacity;
}

long read_sysctl(std::string_view name) {
  std::ifstream file("/proc/sys/" + std::string(name));
  long value = -1;
  file >> value;
  return file ? value : -1;
}

}  // namespace gotit

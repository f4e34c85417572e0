#include "support/server_socket.hpp"

#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace gotit::test {
namespace {

std::string address_bytes(int fd, bool peer) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  const int rc = peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length)
                      : ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  if (rc != 0) return {};
  return format_address(reinterpret_cast<sockaddr*>(&address), length);
}

// Through syscall(2): Debian 12's <sys/pidfd.h> lacks extern "C" for C++.
int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }
int pidfd_getfd(int pidfd, int target) {
  return static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd, target, 0));
}

std::vector<pid_t> with_children(pid_t pid) {
  std::vector<pid_t> pids{pid};
  std::ifstream children("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) +
                         "/children");
  for (pid_t child; children >> child;) pids.push_back(child);
  return pids;
}

// Strips "::ffff:" so an IPv4 client matches a dual-stack server's view of it.
std::string unmapped(std::string address) {
  const std::string mapped = "[::ffff:";
  if (address.rfind(mapped, 0) == 0) {
    const auto close = address.find(']');
    address = address.substr(mapped.size(), close - mapped.size()) + address.substr(close + 1);
  }
  return address;
}

}  // namespace

UniqueFd borrow_server_socket(pid_t server, int client_fd) {
  const std::string client_end = unmapped(address_bytes(client_fd, false));
  for (const pid_t pid : with_children(server)) {
    const UniqueFd pidfd(pidfd_open(pid));
    if (!pidfd) continue;  // a child that just exited
    std::error_code ignored;
    for (const auto& entry : std::filesystem::directory_iterator(
             "/proc/" + std::to_string(pid) + "/fd", ignored)) {
      const int target = std::stoi(entry.path().filename().string());
      UniqueFd copy(pidfd_getfd(pidfd.get(), target));
      if (!copy) continue;
      if (unmapped(address_bytes(copy.get(), true)) == client_end) return copy;
    }
  }
  throw std::runtime_error("no socket of the server's is connected to " + client_end);
}

}  // namespace gotit::test

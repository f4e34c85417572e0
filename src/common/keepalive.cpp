#include "gotit/common/keepalive.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "gotit/common/net.hpp"

namespace gotit {
namespace {

void set_int(int fd, int level, int name, int value, const char* what) {
  if (setsockopt(fd, level, name, &value, sizeof value) != 0) {
    throw SystemError(what, errno);
  }
}

}  // namespace

KeepaliveTimers keepalive_timers(std::chrono::seconds idle) {
  KeepaliveTimers timers;
  if (idle.count() <= 0) return timers;
  const long long seconds = idle.count();
  const long long interval = std::clamp(seconds / 30, 1LL, 10LL);
  timers.idle = idle;
  timers.interval = std::chrono::seconds(interval);
  timers.count = static_cast<int>(std::clamp(seconds / (5 * interval), 2LL, 6LL));
  timers.user_timeout = idle + timers.interval * timers.count;
  return timers;
}

void set_keepalive(int fd, std::chrono::seconds idle) {
  const KeepaliveTimers timers = keepalive_timers(idle);
  if (timers.count == 0) return;
  set_int(fd, SOL_SOCKET, SO_KEEPALIVE, 1, "setsockopt SO_KEEPALIVE");
  set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, static_cast<int>(timers.idle.count()),
          "setsockopt TCP_KEEPIDLE");
  set_int(fd, IPPROTO_TCP, TCP_KEEPINTVL, static_cast<int>(timers.interval.count()),
          "setsockopt TCP_KEEPINTVL");
  set_int(fd, IPPROTO_TCP, TCP_KEEPCNT, timers.count, "setsockopt TCP_KEEPCNT");
  set_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, static_cast<int>(timers.user_timeout.count()),
          "setsockopt TCP_USER_TIMEOUT");
}

bool is_reaped_peer_error(int error) {
  return error == ETIMEDOUT || error == EHOSTUNREACH || error == ENETUNREACH;
}

}  // namespace gotit

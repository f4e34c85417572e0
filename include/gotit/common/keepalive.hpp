// TCP keepalive: how a server learns that a peer vanished without a FIN or
// an RST (a phone out of coverage, a pulled cable, a NAT that forgot the
// flow). Without it such a "ghost" connection stays open for ever on a
// server whose peers are allowed to be idle for hours.
//
// The options are set once, on the listening socket: Linux copies a
// listener's socket options (SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL,
// TCP_KEEPCNT, TCP_USER_TIMEOUT) to every socket it accepts -- the accepted
// socket is cloned from the listener (inet_csk_clone_lock). Checked on
// kernel 6.18 by reading them back with getsockopt on accepted sockets
// (tests/integration/keepalive_test.cpp does so on every run), so the accept
// path costs no extra system call.
#pragma once

#include <chrono>

namespace gotit {

// redis's default since 3.2.1: a peer silent for 5 minutes is probed.
inline constexpr std::chrono::seconds kDefaultTcpKeepalive{300};
// TCP_KEEPIDLE's upper bound in Linux (MAX_TCP_KEEPIDLE).
inline constexpr long long kMaxTcpKeepalive = 32767;

// The timers derived from one number, the idle time. Probing lasts about a
// fifth of the idle time and at most a minute: a probe every idle/30 s
// (1..10 s), idle/(5 x interval) probes (2..6). 300 s gives 10 s x 6, so a
// vanished peer is reaped 360 s after it last spoke; 2 s gives 1 s x 2 (4 s).
struct KeepaliveTimers {
  std::chrono::seconds idle{0};      // TCP_KEEPIDLE: silence before the first probe
  std::chrono::seconds interval{0};  // TCP_KEEPINTVL: between unanswered probes
  int count = 0;                     // TCP_KEEPCNT: unanswered probes before giving up
  // TCP_USER_TIMEOUT = idle + interval x count. It bounds how long sent data
  // may stay unacknowledged (a peer that vanished while we were writing to
  // it, where keepalive never starts because the socket is not idle), and
  // tcp(7) says that with keepalive on it also decides when keepalive gives
  // up: set to the same total, both ways of dying take the same time.
  std::chrono::milliseconds user_timeout{0};
};

KeepaliveTimers keepalive_timers(std::chrono::seconds idle);

// Sets SO_KEEPALIVE and the timers above on `fd` (a listening socket: its
// accepted sockets inherit them). idle == 0 does nothing: keepalive off.
// Throws SystemError naming the option that failed.
void set_keepalive(int fd, std::chrono::seconds idle);

// True for the errors a recv or send on an established connection reports
// when the kernel gave up on the peer: ETIMEDOUT after keepalive probes or
// TCP_USER_TIMEOUT, or the ICMP/neighbour error that was pending then
// (EHOSTUNREACH, ENETUNREACH: TCP reports the last soft error instead of
// ETIMEDOUT, see tcp_write_err). Such a peer counts as "reaped".
bool is_reaped_peer_error(int error);

}  // namespace gotit

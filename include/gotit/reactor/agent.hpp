// The load balancer's agent port (--agent-port): HAProxy's agent check
// connects, reads one line, and the server closes. The line tells the
// balancer what to do with this server:
//
//   ready maxconn:N   serving: send new clients, at most N at a time
//   drain             a graceful stop has begun: send no new clients
//
// HAProxy turns "drain" into weight 0 (no new connections, the open ones go
// on) and "ready" back into the configured weight. So a stopping server says
// "drain" first, keeps accepting for --stop-grace seconds while the balancer
// notices, and only then closes its listener: no client is ever refused.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include <event2/listener.h>

#include "gotit/common/event_handles.hpp"
#include "gotit/common/net.hpp"

namespace gotit {

// Owns the agent's listening socket, registered on the server's event_base.
// Loop thread only.
class AgentPort {
 public:
  // Listens on `where` (port 0 picks a free one) on `base`, which must
  // outlive this object. `max_conns` is the maxconn the agent announces.
  // Throws SystemError.
  AgentPort(event_base* base, const ListenOptions& where, std::size_t max_conns);
  AgentPort(const AgentPort&) = delete;
  AgentPort& operator=(const AgentPort&) = delete;

  // From now on every check is answered "drain". There is no way back: a
  // draining server is on its way out.
  void begin_drain() { draining_ = true; }
  bool draining() const { return draining_; }
  std::uint16_t port() const { return local_port(fd_); }
  int fd() const { return fd_; }  // the listening socket (the listener owns it)

  // The line a check gets, with its '\n'.
  static std::string reply_line(bool draining, std::size_t max_conns);

 private:
  static void on_accept(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void* self) noexcept;
  static void on_accept_error(evconnlistener*, void* self) noexcept;
  static void on_retry(evutil_socket_t, short, void* self) noexcept;
  void answer(int fd);

  std::size_t max_conns_;
  bool draining_ = false;
  int fd_ = -1;                // owned by listener_
  ListenerPtr listener_;
  EventPtr retry_;             // re-enables the listener after an accept error
};

}  // namespace gotit

#include "gotit/reactor/agent.hpp"

#include <event2/util.h>
#include <fmt/format.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "gotit/common/log.hpp"

namespace gotit {

AgentPort::AgentPort(event_base* base, const ListenOptions& where, std::size_t max_conns)
    : max_conns_(max_conns) {
  ListenOptions listen = where;
  listen.nonblocking = true;
  listen.backlog = 64;  // one check per balancer every few seconds
  UniqueFd fd = listen_tcp(listen);
  listener_.reset(evconnlistener_new(
      base, on_accept, this, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
      0, fd.get()));
  if (!listener_) throw SystemError("evconnlistener_new (agent port)", errno ? errno : ENOMEM);
  fd_ = fd.release();  // the listener closes it now
  evconnlistener_set_error_cb(listener_.get(), on_accept_error);
  retry_.reset(evtimer_new(base, on_retry, this));
  if (!retry_) throw SystemError("evtimer_new (agent port)", ENOMEM);
  log::info("agent port {} answers the load balancer's agent check", port());
}

std::string AgentPort::reply_line(bool draining, std::size_t max_conns) {
  return draining ? std::string("drain\n") : fmt::format("ready maxconn:{}\n", max_conns);
}

// EV_READ on the agent's listening socket: libevent accepted a check's
// connection. The socket is new, so its send buffer is empty and one
// non-blocking send takes the whole short line; then we close. HAProxy
// sends nothing on an agent check (no agent-send), so nothing unread is left
// behind to turn the close into a reset.
void AgentPort::on_accept(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void* self) noexcept {
  static_cast<AgentPort*>(self)->answer(fd);
}

void AgentPort::answer(int fd) {
  const std::string line = reply_line(draining_, max_conns_);
  if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
    log::at(log::Level::connection, "agent fd {}: send: {}", fd, std::strerror(errno));
  }
  if (::close(fd) != 0) log::error("agent: close fd {}: {}", fd, std::strerror(errno));
}

// accept() failed past what libevent retries itself (EMFILE, most likely).
// The check stays queued and the socket readable, so an enabled listener
// would fail again at once, forever: pause it for a second (the balancer
// keeps its last answer meanwhile; its check times out and comes again).
void AgentPort::on_accept_error(evconnlistener*, void* self) noexcept {
  const int error = EVUTIL_SOCKET_ERROR();
  auto& agent = *static_cast<AgentPort*>(self);
  log::error("agent port: accept: {}; retrying in 1 s", std::strerror(error));
  constexpr timeval kRetry{1, 0};
  if (evconnlistener_disable(agent.listener_.get()) != 0 ||
      evtimer_add(agent.retry_.get(), &kRetry) != 0) {
    log::error("agent port: cannot pause the listener");
  }
}

void AgentPort::on_retry(evutil_socket_t, short, void* self) noexcept {
  auto& agent = *static_cast<AgentPort*>(self);
  if (evconnlistener_enable(agent.listener_.get()) != 0) log::error("agent port: evconnlistener_enable failed");
}

}  // namespace gotit

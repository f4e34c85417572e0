#include "master_agent.hpp"

#include <cerrno>

namespace gotit {

// Not epoll: an epoll instance is a kernel object that every forked worker
// would share with the master. poll keeps the base's interest list in the
// master's own memory, which a fork copies: so a worker can free its copy
// (the listening socket, the base's internal socketpair) without touching
// the master's.
MasterAgent::MasterAgent(const ListenOptions& where, std::size_t max_conns) {
  const EventConfigPtr config(event_config_new());
  if (!config || event_config_avoid_method(config.get(), "epoll") != 0) {
    throw SystemError("event_config (agent port)", ENOMEM);
  }
  base_.reset(event_base_new_with_config(config.get()));
  if (!base_) throw SystemError("event_base_new_with_config (agent port)", errno ? errno : ENOMEM);
  agent_.emplace(base_.get(), where, max_conns);
}

void MasterAgent::serve() {
  if (event_base_loop(base_.get(), EVLOOP_NONBLOCK) < 0) {
    throw SystemError("event_base_loop (agent port)", errno ? errno : EIO);
  }
}

}  // namespace gotit

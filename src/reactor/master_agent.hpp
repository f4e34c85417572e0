// The agent port under gotit-reactor --workers: the master answers it, so
// the balancer sees one server however many workers there are, and a worker
// that restarts changes nothing it says. It is the single-process AgentPort
// (agent.hpp) on a small event_base of the master's own, which the master's
// poll() loop drives.
#pragma once

#include <cstddef>
#include <optional>

#include "gotit/common/event_handles.hpp"
#include "gotit/common/net.hpp"
#include "gotit/reactor/agent.hpp"

namespace gotit {

// Owns the event_base and the AgentPort on it. Master thread only; a forked
// worker destroys its copy at once.
class MasterAgent {
 public:
  // Binds and listens on `where` now (a port conflict fails the start, not a
  // later check), announcing `max_conns`: the workers' capacities summed.
  // Throws SystemError.
  MasterAgent(const ListenOptions& where, std::size_t max_conns);
  MasterAgent(const MasterAgent&) = delete;
  MasterAgent& operator=(const MasterAgent&) = delete;

  // The listening socket, for the master's poll() (POLLIN: a check waits).
  int fd() const { return agent_->fd(); }
  // Answers every check waiting and runs the agent's retry timer; never
  // blocks. The master calls it on each turn of its loop (at most 100 ms).
  void serve();
  void begin_drain() { agent_->begin_drain(); }

 private:
  EventBasePtr base_;
  std::optional<AgentPort> agent_;
};

}  // namespace gotit

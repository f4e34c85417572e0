// SIGINT and SIGTERM turned into a file descriptor (the self-pipe trick), so
// that a thread blocked in poll() -- the accept loop, or any connection --
// wakes up when the server is asked to stop.
//
// The signal handler writes one byte and nobody ever reads it: the pipe stays
// readable, so every thread polling it sees the stop, however many there are.
// A second signal ends the process at once (the signal's default action),
// except in a forked child (see renew_after_fork).
//
// One per process (the handlers are process-wide). fd() and requested() may
// be called from any thread.
#pragma once

#include <chrono>

#include "gotit/common/net.hpp"

namespace gotit::blocking {

class StopSignal {
 public:
  StopSignal();   // creates the pipe, then installs the handlers
  ~StopSignal();  // restores the default handlers
  StopSignal(const StopSignal&) = delete;
  StopSignal& operator=(const StopSignal&) = delete;

  // Readable once a stop was requested.
  int fd() const { return read_end_.get(); }
  bool requested() const;
  // When the first stop signal came (steady clock): the stop's one
  // --shutdown-timeout runs from then. Now, if none came yet.
  std::chrono::steady_clock::time_point requested_at() const;

  // In a forked child: a pipe of its own, so that a signal to one child does
  // not stop its siblings and the parent; and no stop at once on a second
  // signal (a Ctrl-C reaches the child and the parent forwards one too). Call with SIGINT/SIGTERM blocked
  // (see BlockStopSignals) so no signal falls between fork and renew.
  void renew_after_fork();

 private:
  void open_pipe();

  UniqueFd read_end_;
  UniqueFd write_end_;
};

// Blocks SIGINT and SIGTERM in the calling thread for its lifetime; a signal
// that arrives meanwhile is delivered when it ends. Used around fork(), and
// while starting a connection thread so that the thread never runs a handler.
class BlockStopSignals {
 public:
  BlockStopSignals();
  ~BlockStopSignals();
  BlockStopSignals(const BlockStopSignals&) = delete;
  BlockStopSignals& operator=(const BlockStopSignals&) = delete;
};

}  // namespace gotit::blocking

// A server that `compare` starts and stops itself: fork/exec in its own
// process group (so a fork-per-connection server's children go with it),
// stderr into a log file (stdout too, unless the server announces its port:
// then stdout is a pipe read up to the "listening on" line), and
// always ended by its PID: SIGTERM first (a graceful stop is part of the
// contract), SIGKILL to the group if it does not go in time.
//
// Owns the child; the destructor stops it. Not thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gotit/common/net.hpp"

namespace gotit {

class ServerProcess {
 public:
  // Starts `path args...`. With `announces_port`, stdout is read for the
  // "listening on ADDRESS:PORT" line; otherwise it goes to the log too.
  ServerProcess(const std::string& path, const std::vector<std::string>& args,
                const std::string& log_path, bool announces_port);
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  ~ServerProcess();

  pid_t pid() const { return pid_; }

  // Reads stdout until "listening on ...:PORT"; throws BenchError (with the
  // log's last lines) if the server exits or stays silent until `timeout`.
  std::uint16_t wait_for_port(std::chrono::milliseconds timeout);
  // Retries connect to 127.0.0.1:port until it works or `timeout` passes.
  void wait_until_connectable(std::uint16_t port, std::chrono::milliseconds timeout);
  // The exit status if the process has ended (reaps it), else nullopt.
  std::optional<int> poll_exit();
  // SIGTERM, wait up to `grace`, then SIGKILL the group. Returns "" for a
  // clean exit 0, or what happened ("exit 1", "killed after 3 s").
  std::string stop(std::chrono::milliseconds grace);

 private:
  std::string log_tail() const;

  pid_t pid_ = -1;
  std::optional<int> status_;  // raw wait status once reaped
  UniqueFd stdout_;
  std::string log_path_;
  std::string name_;
};

// A port free on 127.0.0.1 right now (bind to 0, read it, close): for
// peers that cannot be told to pick one. A race, but a short one.
std::uint16_t pick_free_port();

// "exit 0", "exit 3", "signal 9".
std::string describe_wait_status(int status);

}  // namespace gotit

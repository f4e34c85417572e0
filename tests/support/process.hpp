// A program started by a test: fork/exec, its stdout read for the
// "listening on ...:PORT" line, its stderr kept in a file, and always ended
// by its PID when the object goes away.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gotit::test {

struct ExitStatus {
  int code = -1;    // exit code, or -1 if killed by a signal
  int signal = 0;   // the signal that ended it, or 0
};

class ChildProcess {
 public:
  // Starts `path` with `args`. stdin is /dev/null unless `stdin_text` is
  // given, in which case it is written to a pipe and the pipe closed.
  ChildProcess(std::string path, std::vector<std::string> args,
               std::optional<std::string> stdin_text = std::nullopt);
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();  // SIGKILL and reap if still running

  pid_t pid() const { return pid_; }

  // Reads stdout until a line "listening on ADDRESS:PORT"; returns PORT.
  // Throws if the child exits or says nothing within `timeout`.
  std::uint16_t wait_for_port(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  void send_signal(int signal);
  // Waits for the child to end; nullopt if it is still running after `timeout`.
  std::optional<ExitStatus> wait(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // All of stdout (after wait) and stderr (so far).
  std::string stdout_text();
  std::string stderr_text() const;

 private:
  void read_stdout_available(std::chrono::milliseconds timeout);

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string stdout_;
  std::string stderr_path_;
  std::optional<ExitStatus> status_;
};

// Runs a program to completion (bounded by `timeout`) and returns its
// exit status with stdout and stderr.
struct RunResult {
  ExitStatus status;
  std::string out;
  std::string err;
};
RunResult run_program(const std::string& path, const std::vector<std::string>& args,
                      std::optional<std::string> stdin_text = std::nullopt,
                      std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace gotit::test

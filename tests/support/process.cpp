#include "support/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "gotit/common/net.hpp"

namespace gotit::test {
namespace {

using Clock = std::chrono::steady_clock;

std::string make_stderr_path() {
  char name[] = "/tmp/gotit-test-stderr-XXXXXX";
  const int fd = mkstemp(name);
  if (fd < 0) throw SystemError("mkstemp", errno);
  ::close(fd);
  return name;
}

ExitStatus decode(int raw) {
  ExitStatus status;
  if (WIFEXITED(raw)) status.code = WEXITSTATUS(raw);
  if (WIFSIGNALED(raw)) status.signal = WTERMSIG(raw);
  return status;
}

}  // namespace

ChildProcess::ChildProcess(std::string path, std::vector<std::string> args,
                           std::optional<std::string> stdin_text)
    : stderr_path_(make_stderr_path()) {
  int out_pipe[2];
  int in_pipe[2] = {-1, -1};
  if (pipe2(out_pipe, O_CLOEXEC) != 0) throw SystemError("pipe2", errno);
  if (stdin_text && pipe2(in_pipe, O_CLOEXEC) != 0) throw SystemError("pipe2", errno);
  std::vector<char*> argv;
  argv.push_back(path.data());
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  pid_ = fork();
  if (pid_ < 0) throw SystemError("fork", errno);
  if (pid_ == 0) {
    const int err = ::open(stderr_path_.c_str(), O_WRONLY | O_TRUNC);
    const int in = stdin_text ? in_pipe[0] : ::open("/dev/null", O_RDONLY);
    if (err < 0 || in < 0 || dup2(in, 0) < 0 || dup2(out_pipe[1], 1) < 0 || dup2(err, 2) < 0) _exit(127);
    execv(path.c_str(), argv.data());
    _exit(127);
  }
  ::close(out_pipe[1]);
  stdout_fd_ = out_pipe[0];
  if (stdin_text) {
    ::close(in_pipe[0]);
    // Test inputs are small; a child that stops reading early must not
    // leave us blocked, so errors (EPIPE) are ignored here -- and SIGPIPE,
    // which would otherwise kill the whole test program first.
    ::signal(SIGPIPE, SIG_IGN);
    std::string_view rest = *stdin_text;
    while (!rest.empty()) {
      const ssize_t n = ::write(in_pipe[1], rest.data(), rest.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
    ::close(in_pipe[1]);
  }
}

ChildProcess::~ChildProcess() {
  if (!status_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int raw = 0;
    while (waitpid(pid_, &raw, 0) < 0 && errno == EINTR) {}
  }
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
  ::unlink(stderr_path_.c_str());
}

void ChildProcess::read_stdout_available(std::chrono::milliseconds timeout) {
  if (stdout_fd_ < 0) return;
  pollfd waiting{stdout_fd_, POLLIN, 0};
  if (::poll(&waiting, 1, static_cast<int>(timeout.count())) <= 0) return;
  char buffer[4096];
  const ssize_t n = ::read(stdout_fd_, buffer, sizeof buffer);
  if (n > 0) {
    stdout_.append(buffer, static_cast<std::size_t>(n));
  } else if (n == 0) {
    ::close(stdout_fd_);
    stdout_fd_ = -1;
  }
}

std::uint16_t ChildProcess::wait_for_port(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  static constexpr std::string_view kMarker = "listening on ";
  while (Clock::now() < deadline) {
    const auto at = stdout_.find(kMarker);
    if (at != std::string::npos) {
      const auto end = stdout_.find('\n', at);
      if (end != std::string::npos) {
        const std::string line = stdout_.substr(at, end - at);
        const auto colon = line.rfind(':');
        return static_cast<std::uint16_t>(std::stoi(line.substr(colon + 1)));
      }
    }
    if (stdout_fd_ < 0) break;
    read_stdout_available(std::chrono::milliseconds(50));
  }
  throw std::runtime_error("server did not announce its port; stderr: " + stderr_text());
}

void ChildProcess::send_signal(int signal) {
  if (!status_ && ::kill(pid_, signal) != 0) throw SystemError("kill", errno);
}

std::optional<ExitStatus> ChildProcess::wait(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    int raw = 0;
    const pid_t done = waitpid(pid_, &raw, WNOHANG);
    if (done == pid_) {
      status_ = decode(raw);
      while (stdout_fd_ >= 0) read_stdout_available(std::chrono::milliseconds(100));
      return status_;
    }
    if (Clock::now() >= deadline) return std::nullopt;
    // Keep the pipe drained so a chatty child never blocks on stdout.
    read_stdout_available(std::chrono::milliseconds(10));
  }
}

std::string ChildProcess::stdout_text() {
  read_stdout_available(std::chrono::milliseconds(0));
  return stdout_;
}

std::string ChildProcess::stderr_text() const {
  std::ifstream in(stderr_path_);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

RunResult run_program(const std::string& path, const std::vector<std::string>& args,
                      std::optional<std::string> stdin_text,
                      std::chrono::milliseconds timeout) {
  ChildProcess child(path, args, std::move(stdin_text));
  const auto status = child.wait(timeout);
  if (!status) throw std::runtime_error(path + " did not finish in time");
  return RunResult{*status, child.stdout_text(), child.stderr_text()};
}

}  // namespace gotit::test

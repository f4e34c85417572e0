#include "gotit/bench/server_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fmt/format.h>
#include <fstream>
#include <sstream>
#include <thread>

#include "gotit/bench/result.hpp"

namespace gotit {

namespace {

using Clock = std::chrono::steady_clock;

// In the child, between fork and exec: only async-signal-safe calls.
[[noreturn]] void exec_child(const std::string& path, std::vector<char*>& argv, int stdout_fd, int log_fd) {
  setpgid(0, 0);
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);  // dup2's copy is not close-on-exec
  dup2(stdout_fd, STDOUT_FILENO);
  dup2(log_fd, STDERR_FILENO);
  execv(path.c_str(), argv.data());
  // A fixed message: strerror is not async-signal-safe.
  constexpr char kMessage[] = "exec failed\n";
  const ssize_t ignored = ::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
  (void)ignored;
  _exit(127);
}

}  // namespace

ServerProcess::ServerProcess(const std::string& path, const std::vector<std::string>& args,
                             const std::string& log_path, bool announces_port)
    : log_path_(log_path), name_(path) {
  UniqueFd log(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!log) throw SystemError(fmt::format("open {}", log_path), errno);
  int pipe_fds[2] = {-1, -1};
  if (announces_port && ::pipe2(pipe_fds, O_CLOEXEC) != 0) throw SystemError("pipe2", errno);
  UniqueFd read_end(pipe_fds[0]);
  UniqueFd write_end(pipe_fds[1]);
  std::vector<std::string> storage{path};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : storage) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) throw SystemError("fork", errno);
  if (pid_ == 0) exec_child(path, argv, announces_port ? write_end.get() : log.get(), log.get());
  setpgid(pid_, pid_);  // also here: whichever runs first wins the race
  stdout_ = std::move(read_end);
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0 && !status_) stop(std::chrono::milliseconds(2000));
}

std::string ServerProcess::log_tail() const {
  std::ifstream file(log_path_);
  std::stringstream text;
  text << file.rdbuf();
  std::string all = text.str();
  if (all.size() > 400) all = "..." + all.substr(all.size() - 400);
  return all.empty() ? "(nothing in " + log_path_ + ")" : all;
}

std::uint16_t ServerProcess::wait_for_port(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string seen;
  char buffer[256];
  while (Clock::now() < deadline && seen.size() < 64 * 1024) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd waiting{stdout_.get(), POLLIN, 0};
    const int ready = ::poll(&waiting, 1, static_cast<int>(std::max<long long>(1, left.count())));
    if (ready < 0 && errno != EINTR) throw SystemError("poll", errno);
    if (ready <= 0) continue;
    const ssize_t n = ::read(stdout_.get(), buffer, sizeof buffer);
    if (n <= 0) break;  // the server closed stdout: it has ended
    seen.append(buffer, static_cast<std::size_t>(n));
    std::size_t start = 0;
    for (std::size_t end; (end = seen.find('\n', start)) != std::string::npos; start = end + 1) {
      const std::string_view line(seen.data() + start, end - start);
      if (line.rfind("listening on ", 0) == 0) {
        const std::size_t colon = line.rfind(':');
        return parse_port(line.substr(colon + 1));
      }
    }
  }
  throw BenchError(fmt::format("{} did not announce its port (\"listening on ...\"): {}", name_, log_tail()));
}

void ServerProcess::wait_until_connectable(std::uint16_t port, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (poll_exit()) break;
    try {
      connect_tcp("127.0.0.1", port, std::chrono::milliseconds(500));
      return;
    } catch (const ConnectError&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  throw BenchError(fmt::format("{} did not accept connections on port {}: {}", name_, port, log_tail()));
}

std::optional<int> ServerProcess::poll_exit() {
  if (status_) return status_;
  int status = 0;
  const pid_t done = ::waitpid(pid_, &status, WNOHANG);
  if (done == pid_) status_ = status;
  return status_;
}

std::string ServerProcess::stop(std::chrono::milliseconds grace) {
  if (!poll_exit() && ::kill(pid_, SIGTERM) != 0 && errno != ESRCH) throw SystemError("kill SIGTERM", errno);
  const auto deadline = Clock::now() + grace;
  while (!poll_exit() && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::string outcome;
  if (!status_) {
    outcome = fmt::format("did not stop within {} ms of SIGTERM; killed", grace.count());
    ::kill(pid_, SIGKILL);
    int status = 0;
    if (::waitpid(pid_, &status, 0) == pid_) status_ = status;
  } else if (!(WIFEXITED(*status_) && WEXITSTATUS(*status_) == 0)) {
    outcome = describe_wait_status(*status_) + " after SIGTERM";
  }
  // Whatever the server left behind in its group (fork-per-connection
  // children still closing) goes with it; the group's id is its PID.
  ::kill(-pid_, SIGKILL);
  return outcome;
}

std::uint16_t pick_free_port() {
  ListenOptions options;
  options.bind_host = "127.0.0.1";
  options.port = 0;
  const UniqueFd fd = listen_tcp(options);
  return local_port(fd.get());
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exit {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("signal {}", WTERMSIG(status));
  return "ended";
}

}  // namespace gotit

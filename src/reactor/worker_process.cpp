#include "worker_process.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "gotit/common/log.hpp"
#include "gotit/reactor/server.hpp"

namespace gotit {
namespace {

// The master's handlers write to its self-pipe; a worker wants the defaults
// back before ReactorServer installs its own (and before signals unblock).
void reset_signals() {
  for (const int signal : {SIGINT, SIGTERM, SIGUSR1, SIGCHLD}) {
    struct sigaction action{};
    action.sa_handler = SIG_DFL;
    if (sigaction(signal, &action, nullptr) != 0) throw SystemError("sigaction", errno);
  }
}

// If the master dies, the kernel sends us SIGTERM: a graceful stop, never an
// orphan. The master may have died before prctl took effect; then our
// parent is already someone else. Our own process group: a Ctrl-C at the
// terminal reaches the master alone, which forwards one stop to each worker
// (in the master's group each worker would get two, and the second means
// "stop at once").
void follow_master(pid_t master) {
  if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) throw SystemError("prctl PR_SET_PDEATHSIG", errno);
  if (getppid() != master) throw SystemError("the master exited before the worker started", ESRCH);
  if (setpgid(0, 0) != 0) throw SystemError("setpgid", errno);
}

// Only once the server's libevent signal events exist: a stop signal that
// came earlier waits, blocked, and is then delivered to them, rather than
// killing us with the default action.
void unblock_signals() {
  sigset_t none;
  sigemptyset(&none);
  if (sigprocmask(SIG_SETMASK, &none, nullptr) != 0) throw SystemError("sigprocmask", errno);
}

bool serve(const WorkerPlan& plan, ReactorStats& shared) {
  // Counting straight into the shared slot: the master reads the live
  // counters, and no timer wakes an idle worker to copy them.
  ReactorServer server(plan.options, &shared);
  unblock_signals();
  const auto index = static_cast<std::uint32_t>(plan.index);
  if (::write(plan.ready_fd, &index, sizeof index) != sizeof index) {
    throw SystemError("write to the master's ready pipe", errno);
  }
  const bool graceful = server.run();
  log::at(log::Level::connection, "stopped: {}", format_stats(server.stats()));
  return graceful;
}

}  // namespace

void run_worker(const WorkerPlan& plan, pid_t master, ReactorStats& shared) {
  int code = 1;
  log::set_prefix(fmt::format("worker {} (pid {}): ", plan.index, getpid()));
  try {
    reset_signals();
    follow_master(master);
    code = serve(plan, shared) ? 0 : 1;
  } catch (const std::exception& failure) {
    log::error("{}", failure.what());
  }
  std::fflush(stderr);
  // _exit: the master's atexit handlers and stdio buffers are not ours.
  ::_exit(code);
}

}  // namespace gotit

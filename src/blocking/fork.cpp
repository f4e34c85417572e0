// --model fork: a process per connection, as in the libevent book's second
// chapter. The parent only accepts and reaps; each child serves one client
// and exits. Each child writes its counts into a pipe as it exits, which
// both feeds the summary and wakes the parent to reap it: no zombies.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "models.hpp"
#include "gotit/common/log.hpp"

namespace gotit::blocking {
namespace {

// How often the parent reaps even when no child reported (one that crashed).
constexpr int kReapIntervalMs = 1000;

// The children and their report pipe. Parent process only.
class Children {
 public:
  explicit Children(Counters& counters);
  int report_fd() const { return report_read_.get(); }

  void start(AcceptedClient connection, ModelContext& context);
  // Reads the children's reports and reaps those that exited. Never blocks.
  void collect();
  // Forwards the stop to every child, waits up to `grace` (each child bounds
  // its own stop by --shutdown-timeout, so this is a backstop), kills the rest.
  void finish_all(std::chrono::milliseconds grace);

 private:
  [[noreturn]] void serve_child(const AcceptedClient& connection, ModelContext& context);

  Counters& counters_;  // the parent's totals
  UniqueFd report_read_;   // non-blocking, read by the parent
  UniqueFd report_write_;  // inherited by children: one ServerTotals each
  std::set<pid_t> running_;
};

// A report is one write below PIPE_BUF, so reports never interleave.
static_assert(sizeof(ServerTotals) <= PIPE_BUF);

Children::Children(Counters& counters) : counters_(counters) {
  int ends[2];
  if (pipe2(ends, O_CLOEXEC) != 0) throw SystemError("pipe2", errno);
  report_read_.reset(ends[0]);
  report_write_.reset(ends[1]);
  if (fcntl(ends[0], F_SETFL, O_NONBLOCK) != 0) throw SystemError("fcntl O_NONBLOCK", errno);
}

void Children::start(AcceptedClient connection, ModelContext& context) {
  // Signals wait until the child has its own stop pipe (see renew_after_fork).
  std::optional<BlockStopSignals> blocked(std::in_place);
  const pid_t pid = ::fork();
  if (pid < 0) {
    log::error("fork: {}", std::strerror(errno));  // lose this client only
    return;
  }
  if (pid == 0) {
    context.stop.renew_after_fork();
    blocked.reset();
    serve_child(connection, context);
  }
  running_.insert(pid);
}  // the parent's copy of the client socket closes here

void Children::serve_child(const AcceptedClient& connection, ModelContext& context) {
  context.listener.reset();  // the parent accepts; the child only serves
  report_read_.reset();
  Counters mine;
  serve_client(connection, context.reply, context.limits, context.stop.fd(), mine);
  const ServerTotals totals = mine.snapshot();
  // EPIPE: the parent is gone (a second stop signal ended it at once), and
  // with it whoever would have read the report.
  if (::write(report_write_.get(), &totals, sizeof totals) < 0 && errno != EPIPE) {
    log::error("child {}: write report: {}", getpid(), std::strerror(errno));
  }
  // _exit: the parent's atexit handlers and buffers are not ours to run.
  ::_exit(0);
}

void Children::collect() {
  ServerTotals totals;
  ssize_t n;
  while ((n = ::read(report_read_.get(), &totals, sizeof totals)) == sizeof totals) {
    counters_.add(totals);
  }
  int status = 0;
  pid_t pid;
  while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
    running_.erase(pid);
    if (WIFSIGNALED(status)) {
      log::error("child {} killed by signal {}", pid, WTERMSIG(status));
      counters_.connections.fetch_add(1, std::memory_order_relaxed);  // it never reported
    }
  }
}

void Children::finish_all(std::chrono::milliseconds grace) {
  for (const pid_t pid : running_) ::kill(pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (!running_.empty() && std::chrono::steady_clock::now() < deadline) {
    pollfd waiting{report_read_.get(), POLLIN, 0};
    ::poll(&waiting, 1, 100);
    collect();
  }
  if (!running_.empty()) {
    log::error("stopping: killing {} children still busy after {:g} s", running_.size(), std::chrono::duration<double>(grace).count());
    for (const pid_t pid : running_) ::kill(pid, SIGKILL);
    for (const pid_t pid : running_) {
      while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {}
      // Its report is lost with it: count what we know, one connection, cut.
      counters_.connections.fetch_add(1, std::memory_order_relaxed);
      counters_.cut.fetch_add(1, std::memory_order_relaxed);
    }
    running_.clear();
  }
  collect();  // the last reports
}

}  // namespace

void run_fork(ModelContext& context) {
  Children children(context.counters);
  for (;;) {
    const Wake wake = wait_for_client(context.listener.get(), context.stop.fd(),
                                      children.report_fd(), kReapIntervalMs);
    if (wake == Wake::stop) break;
    if (wake == Wake::client) {
      std::optional<AcceptedClient> connection = accept_client(context.listener.get(), context.stop.fd());
      if (connection) children.start(std::move(*connection), context);
    }
    children.collect();
  }
  // Forked after the stop, these children have stop pipes of their own:
  // finish_all's SIGTERM tells them, as it tells the others.
  accept_queued(context.listener.get(), context.stop.fd(),
                [&](AcceptedClient connection) { children.start(std::move(connection), context); });
  context.listener.reset();  // stop accepting
  children.finish_all(context.limits.shutdown_timeout + kStopBackstop);
}

}  // namespace gotit::blocking

// The master of gotit-reactor --workers (workers.hpp): one thread, a poll()
// loop over two pipes -- its own signal self-pipe and the workers' "ready"
// pipe -- and, with --agent-port, the agent's socket, and a clock for
// restarts and stats lines. It never touches a client connection.
#include "gotit/reactor/workers.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "gotit/common/log.hpp"
#include "gotit/common/server_cli.hpp"
#include "gotit/common/start_up.hpp"
#include "gotit/reactor/server.hpp"
#include "master_agent.hpp"
#include "worker_process.hpp"

namespace gotit {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A worker that lived this long before dying is restarted at once; one that
// died sooner waits, twice as long each time, up to kMaxBackoff.
constexpr auto kStableAfter = std::chrono::seconds(5);
constexpr milliseconds kFirstBackoff{100};
constexpr milliseconds kMaxBackoff{5000};
// How long the first workers may take to listen before the master gives up.
constexpr auto kStartTimeout = std::chrono::seconds(10);
// The master wakes at least this often (samples the total for the peak).
constexpr int kTickMs = 100;

int signal_pipe_write = -1;  // for the handler: the one global

void on_signal(int signal) {
  const int saved = errno;
  const auto byte = static_cast<unsigned char>(signal);
  while (::write(signal_pipe_write, &byte, 1) < 0 && errno == EINTR) {
  }
  errno = saved;
}

// The master's signal handlers and their self-pipe. The constructor
// installs them, the destructor puts the previous ones back, so a Master
// whose constructor throws later leaves no handler behind that writes to a
// closed pipe. Handlers that only write the signal's number to the pipe;
// the loop does the work. No SA_RESTART: poll() returns EINTR and the loop
// goes round. Master thread only; one at a time (the handler's global).
class SignalPipe {
 public:
  SignalPipe();
  ~SignalPipe() { restore(kSignals.size()); }
  SignalPipe(const SignalPipe&) = delete;
  SignalPipe& operator=(const SignalPipe&) = delete;
  int read_fd() const { return read_.get(); }
  // In a forked worker, which puts back the default handlers itself.
  void close_in_worker() {
    read_.reset();
    write_.reset();
  }

 private:
  static constexpr std::array kSignals{SIGINT, SIGTERM, SIGUSR1, SIGCHLD};
  void restore(std::size_t installed);

  UniqueFd read_, write_;
  std::array<struct sigaction, kSignals.size()> previous_{};
};

SignalPipe::SignalPipe() {
  int ends[2];
  if (pipe2(ends, O_CLOEXEC | O_NONBLOCK) != 0) throw SystemError("pipe2", errno);
  read_.reset(ends[0]);
  write_.reset(ends[1]);
  signal_pipe_write = ends[1];
  for (std::size_t i = 0; i < kSignals.size(); ++i) {
    struct sigaction action{};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = kSignals[i] == SIGCHLD ? SA_NOCLDSTOP : 0;
    if (sigaction(kSignals[i], &action, &previous_[i]) != 0) {
      const int error = errno;
      restore(i);
      throw SystemError("sigaction", error);
    }
  }
}

// Puts back the handlers of the first `installed` signals.
void SignalPipe::restore(std::size_t installed) {
  for (std::size_t i = 0; i < installed; ++i) {
    if (sigaction(kSignals[i], &previous_[i], nullptr) != 0) {
      log::error("sigaction (restoring signal {}): {}", kSignals[i], std::strerror(errno));
    }
  }
  signal_pipe_write = -1;
}

// One ReactorStats per worker in memory shared with the children, which
// stays mapped at the same address in each after fork. Counter is a
// lock-free std::atomic, so it works across processes as across threads.
class SharedStats {
 public:
  explicit SharedStats(std::size_t count) : count_(count), bytes_(count * sizeof(ReactorStats)) {
    void* area = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED) throw SystemError("mmap shared stats", errno);
    slots_ = static_cast<ReactorStats*>(area);
    for (std::size_t i = 0; i < count_; ++i) std::construct_at(slots_ + i);
  }
  ~SharedStats() { munmap(slots_, bytes_); }
  SharedStats(const SharedStats&) = delete;
  SharedStats& operator=(const SharedStats&) = delete;
  ReactorStats& operator[](std::size_t i) const { return slots_[i]; }

 private:
  static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
  std::size_t count_;
  std::size_t bytes_;
  ReactorStats* slots_ = nullptr;
};

std::string describe_exit(int status) {
  if (WIFSIGNALED(status)) {
    return fmt::format("killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  }
  return fmt::format("exited with code {}", WEXITSTATUS(status));
}

// The master. Owns the port holder, the pipes, the shared counters and,
// with --agent-port, the agent; one thread; the signal handler only writes
// to the self-pipe.
class Master {
 public:
  Master(const ReactorOptions& options, std::uint64_t per_process, std::size_t cores);
  Master(const Master&) = delete;
  Master& operator=(const Master&) = delete;
  int run();

 private:
  struct Worker {
    pid_t pid = 0;                   // 0: not running
    Clock::time_point started;       // of the last run; epoch: never ran
    Clock::time_point restart_at;    // when pid is 0 and we are not stopping
    milliseconds backoff{0};         // wait before the next restart
  };

  void start_worker(std::size_t index);
  [[noreturn]] void become_worker(std::size_t index);
  void handle_signals();
  void handle_ready();
  void reap();
  void retire(std::size_t index, int status);
  void restart_due();
  void begin_stop(int signal, std::string_view why);
  void tick();
  void print_stats_line(const ReactorStats& all);
  std::size_t running() const;
  void totals(ReactorStats& all) const;
  int poll_timeout() const;

  std::size_t count_;
  SharedStats shared_;
  WorkerPlan plan_;
  pid_t self_ = getpid();
  UniqueFd port_holder_;          // bound, never listening: reserves the port
  SignalPipe signals_;
  UniqueFd ready_read_, ready_write_;
  std::optional<MasterAgent> agent_;  // --agent-port: the one agent for all workers
  ReactorStats retired_;          // counters of workers that died
  std::vector<Worker> workers_;
  std::size_t ready_at_start_ = 0;
  bool announced_ = false;
  Clock::time_point start_deadline_;
  int stop_signals_ = 0;          // SIGINT/SIGTERM received
  bool failed_ = false;           // a worker's stop was not graceful
  std::uint64_t total_conns_ = 0;  // --max-conns, or what the workers hold at the file limit
  std::uint64_t restarts_ = 0;
  std::uint64_t peak_ = 0;        // most open at once: sampled every tick, or a dead worker's own
  std::chrono::seconds stats_interval_;  // --stats-interval: the master prints the totals
  Clock::time_point next_stats_;
  ReactorStats last_stats_;       // totals at the last stats line
};

Master::Master(const ReactorOptions& options, std::uint64_t per_process, std::size_t cores)
    : count_(worker_count(options, per_process, cores)), shared_(count_), workers_(count_) {
  ListenOptions holder = options.server.listen;
  holder.reuse_port = true;
  holder.listen = false;
  port_holder_ = listen_tcp(holder);

  plan_.options = options;
  plan_.options.workers = 1;
  plan_.options.close_listener_when_full = true;
  stats_interval_ = options.stats_interval;
  plan_.options.stats_interval = std::chrono::seconds(0);  // the master prints totals
  plan_.options.server.listen.reuse_port = true;
  plan_.options.server.listen.port = local_port(port_holder_.get());
  plan_.options.agent_port.reset();  // the master answers it (master_agent.hpp)
  total_conns_ = options.max_conns ? options.max_conns : per_process * count_;
  std::uint64_t in_all = 0, least = total_conns_, most = 0;
  for (std::size_t i = 0; i < count_; ++i) {
    const std::uint64_t share = worker_share(total_conns_, count_, i);
    in_all += share;
    least = std::min(least, share);
    most = std::max(most, share);
  }
  if (options.agent_port) {
    ListenOptions where = options.server.listen;
    where.port = *options.agent_port;
    agent_.emplace(where, in_all);
  }
  // The master holds no connections: it says the total; each worker logs
  // its own capacity line.
  log::info("{}{} on port {}: up to {} connections in all ({} per worker)", log::count(count_, "worker"),
            options.workers == 0 ? fmt::format(" (auto: {}, {} connections per process)",
                                               log::count(cores, "core"), per_process)
                                 : std::string(),
            plan_.options.server.listen.port, in_all,
            least == most ? fmt::format("{}", most) : fmt::format("{}-{}", least, most));
  if (read_sysctl("net/ipv4/tcp_migrate_req") == 0) {
    log::info("net.ipv4.tcp_migrate_req is 0: a worker that fills up may turn away or reset connections "
              "queued on it as it steps out (set it to 1; docs/architecture.md)");
  }
  int ends[2];
  if (pipe2(ends, O_CLOEXEC | O_NONBLOCK) != 0) throw SystemError("pipe2", errno);
  ready_read_.reset(ends[0]);
  ready_write_.reset(ends[1]);
  plan_.ready_fd = ready_write_.get();
}

// A failed fork is not a restart (nothing ran): it is tried again after the
// same backoff as a crash. Only a worker that ran before counts a restart.
void Master::start_worker(std::size_t index) {
  // Signals stay blocked across fork until the child has put back the
  // default handlers: a SIGTERM in between must not land in our handler.
  sigset_t all, old;
  sigfillset(&all);
  if (sigprocmask(SIG_BLOCK, &all, &old) != 0) throw SystemError("sigprocmask", errno);
  const pid_t pid = ::fork();
  if (pid == 0) become_worker(index);
  const int fork_error = errno;
  if (sigprocmask(SIG_SETMASK, &old, nullptr) != 0) throw SystemError("sigprocmask", errno);
  Worker& worker = workers_[index];
  if (pid < 0) {
    worker.backoff = std::clamp(worker.backoff * 2, kFirstBackoff, kMaxBackoff);
    worker.restart_at = Clock::now() + worker.backoff;
    log::error("worker {} failed to start: fork: {}; trying again in {} ms", index,
               std::strerror(fork_error), worker.backoff.count());
    return;
  }
  if (worker.started != Clock::time_point{}) ++restarts_;
  worker.pid = pid;
  worker.started = Clock::now();
}

// The child: drop what only the master uses, then serve.
void Master::become_worker(std::size_t index) {
  port_holder_.reset();
  signals_.close_in_worker();
  ready_read_.reset();
  agent_.reset();  // the port is the master's alone (master_agent.cpp)
  plan_.index = index;
  plan_.options.max_conns = worker_share(total_conns_, count_, index);
  run_worker(plan_, self_, shared_[index]);
}

int Master::run() {
  for (std::size_t i = 0; i < count_; ++i) start_worker(i);
  start_deadline_ = Clock::now() + kStartTimeout;
  next_stats_ = Clock::now() + stats_interval_;
  while (stop_signals_ == 0 || running() > 0) {
    // The agent answers once every worker listens (or a stop has begun):
    // "ready" means serving. A check that comes sooner waits in its backlog.
    const bool agent_answers = agent_ && (announced_ || stop_signals_ > 0);
    pollfd fds[3] = {{signals_.read_fd(), POLLIN, 0}, {ready_read_.get(), POLLIN, 0},
                     {agent_answers ? agent_->fd() : -1, POLLIN, 0}};
    if (::poll(fds, 3, poll_timeout()) < 0 && errno != EINTR) throw SystemError("poll", errno);
    handle_signals();
    handle_ready();
    restart_due();
    tick();
    if (agent_answers) agent_->serve();
  }
  ReactorStats all;
  totals(all);
  log::info("stopped: {}; {} workers, {} restarts", format_stats(all), count_, restarts_);
  // The workers decide: a second signal stops them at once (exit 1), but
  // with --stop-grace it only ends the grace, and they still stop cleanly.
  return failed_ ? 1 : 0;
}

void Master::handle_signals() {
  unsigned char signals[64];
  ssize_t n;
  while ((n = ::read(signals_.read_fd(), signals, sizeof signals)) > 0) {
    for (ssize_t i = 0; i < n; ++i) {
      const int signal = signals[i];
      if (signal == SIGCHLD) {
        reap();
      } else if (signal == SIGUSR1) {
        ReactorStats all;
        totals(all);
        log::info("{}; {} of {} workers running, {} restarts", format_stats(all), running(),
                  count_, restarts_);
      } else {
        begin_stop(signal, signal == SIGINT ? "SIGINT" : "SIGTERM");
      }
    }
  }
  reap();  // a SIGCHLD may have merged with one already read
}

// A worker listens: the first time all of them do, tell the world the port.
void Master::handle_ready() {
  std::uint32_t index = 0;
  while (::read(ready_read_.get(), &index, sizeof index) == sizeof index) {
    if (!announced_) ++ready_at_start_;
    log::at(log::Level::connection, "worker {} listening", index);
  }
  if (!announced_ && ready_at_start_ == count_) {
    announced_ = true;
    announce_listening(port_holder_.get());
  }
  if (!announced_ && stop_signals_ == 0 && Clock::now() > start_deadline_) {
    log::error("only {} of {} workers listened within {} s; stopping", ready_at_start_, count_,
               std::chrono::duration_cast<std::chrono::seconds>(kStartTimeout).count());
    failed_ = true;
    begin_stop(SIGTERM, "workers missing");
  }
}

void Master::reap() {
  int status = 0;
  pid_t pid;
  while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
    for (std::size_t i = 0; i < count_; ++i) {
      if (workers_[i].pid == pid) retire(i, status);
    }
  }
}

// Worker `index` ended: keep its counters (but not its open connections,
// which the kernel has closed), then restart it unless we are stopping.
void Master::retire(std::size_t index, int status) {
  Worker& worker = workers_[index];
  const pid_t pid = std::exchange(worker.pid, 0);
  ReactorStats& slot = shared_[index];
  const std::uint64_t open = slot.open.get();
  peak_ = std::max(peak_, slot.peak.get());  // see totals()
  add_stats(slot, retired_);
  retired_.open.subtract(open);
  copy_stats(ReactorStats{}, slot);  // the new worker counts from zero
  const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (stop_signals_ > 0) {
    if (!clean) {
      failed_ = true;
      log::error("worker {} (pid {}) {} while stopping", index, pid, describe_exit(status));
    }
    return;
  }
  if (!announced_) {  // a worker that cannot start: the options are wrong
    log::error("worker {} (pid {}) {} before it listened; stopping", index, pid,
               describe_exit(status));
    failed_ = true;
    begin_stop(SIGTERM, "a worker failed");
    return;
  }
  const Clock::time_point now = Clock::now();
  if (now - worker.started >= kStableAfter) worker.backoff = milliseconds(0);
  worker.restart_at = now + worker.backoff;
  log::error("worker {} (pid {}) {} with {} connections; restarting it in {} ms", index, pid,
             describe_exit(status), open, worker.backoff.count());
  // A crash loop waits longer each time instead of spinning.
  worker.backoff = std::clamp(worker.backoff * 2, kFirstBackoff, kMaxBackoff);
}

void Master::restart_due() {
  if (stop_signals_ > 0) return;
  const Clock::time_point now = Clock::now();
  for (std::size_t i = 0; i < count_; ++i) {
    if (workers_[i].pid == 0 && workers_[i].restart_at <= now) start_worker(i);
  }
}

// Forward the stop to every worker: the first makes each stop gracefully,
// a second makes each stop at once (as for the single-process server), or,
// during --stop-grace, ends the grace.
void Master::begin_stop(int signal, std::string_view why) {
  ++stop_signals_;
  if (agent_) agent_->begin_drain();  // before the workers hear of it, as in one process
  log::info("{}: {} {}", why,
            stop_signals_ == 1 ? "gracefully stopping" : "passing a second stop to", log::count(running(), "worker"));
  for (const Worker& worker : workers_) {
    if (worker.pid > 0 && ::kill(worker.pid, signal == SIGINT ? SIGINT : SIGTERM) != 0) {
      log::error("kill worker pid {}: {}", worker.pid, std::strerror(errno));
    }
  }
}

void Master::tick() {
  ReactorStats all;
  totals(all);
  peak_ = std::max(peak_, all.open.get());
  if (stats_interval_.count() == 0 || Clock::now() < next_stats_) return;
  next_stats_ += stats_interval_;
  print_stats_line(all);
}

// The single-process stats line, over all workers, with the spread of open
// connections across them.
void Master::print_stats_line(const ReactorStats& all) {
  std::uint64_t low = UINT64_MAX, high = 0;
  for (std::size_t i = 0; i < count_; ++i) {
    if (workers_[i].pid == 0) continue;
    low = std::min(low, shared_[i].open.get());
    high = std::max(high, shared_[i].open.get());
  }
  const auto seconds = static_cast<double>(stats_interval_.count());
  const auto rate = [&](const Counter ReactorStats::*counter) {
    return static_cast<double>((all.*counter).get() - (last_stats_.*counter).get()) / seconds;
  };
  log::info("stats: {} open ({}..{} per worker, {} of {} workers running), {:.0f} accepts/s, "
            "{:.0f} messages/s, {:.0f} bytes in/s, {:.0f} bytes out/s", all.open.get(),
            high == 0 ? 0 : low, high, running(), count_, rate(&ReactorStats::accepted),
            rate(&ReactorStats::messages), rate(&ReactorStats::bytes_in),
            rate(&ReactorStats::bytes_out));
  copy_stats(all, last_stats_);
}

std::size_t Master::running() const {
  return static_cast<std::size_t>(std::count_if(workers_.begin(), workers_.end(),
                                                [](const Worker& w) { return w.pid > 0; }));
}

// Dead workers' counters plus the running workers' live ones; `peak` is the
// most connections open at once over all workers as sampled each tick, or
// one worker's own peak if larger: connections that come and go between
// two ticks are seen there (a lower bound: the workers peak apart).
void Master::totals(ReactorStats& all) const {
  add_stats(retired_, all);
  std::uint64_t peak = peak_;
  for (std::size_t i = 0; i < count_; ++i) {
    add_stats(shared_[i], all);
    peak = std::max(peak, shared_[i].peak.get());
  }
  all.peak.set(std::max(peak, all.open.get()));
}

int Master::poll_timeout() const {
  auto wait = milliseconds(kTickMs);
  const Clock::time_point now = Clock::now();
  for (const Worker& worker : workers_) {
    if (worker.pid == 0 && stop_signals_ == 0) {
      wait = std::min(wait, std::chrono::duration_cast<milliseconds>(worker.restart_at - now));
    }
  }
  return static_cast<int>(std::max<milliseconds::rep>(0, wait.count()));
}

}  // namespace

std::size_t worker_count(const ReactorOptions& options, std::uint64_t per_process,
                         std::size_t cores) {
  if (options.workers != 0) return options.workers;
  const std::uint64_t total = options.max_conns ? options.max_conns : per_process * cores;
  return std::max<std::size_t>(cores, static_cast<std::size_t>((total + per_process - 1) / per_process));
}

std::uint64_t worker_share(std::uint64_t total, std::size_t count, std::size_t index) {
  const std::uint64_t share = total / count + (index < total % count ? 1 : 0);
  return std::max<std::uint64_t>(1, share);
}

int run_master(const ReactorOptions& options) {
  require_backend(options.backend);
  const ServerCapacity capacity = raise_server_limits();
  std::uint64_t per_process = capacity.connections;
  // Each worker caps itself so (ReactorServer::size_capacity); the plan must know.
  if (options.backend == Backend::select) per_process = std::min(per_process, select_connection_cap(capacity));
  const auto cores = static_cast<std::size_t>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
  Master master(options, per_process, cores);
  return master.run();
}

}  // namespace gotit

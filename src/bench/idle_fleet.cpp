#include "gotit/bench/idle_fleet.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "gotit/bench/idle_cost.hpp"
#include "gotit/bench/idle_pool.hpp"

namespace gotit {
namespace {

// Kept from each helper's file limit for its loop, stdio and pipes.
constexpr int kHelperReserve = 100;
// Connections per source address: below the point where Linux's connect()
// starts scanning (kFastConnectsFromOneAddress).
constexpr int kPerSource = 12'000;
constexpr timeval kReportEvery{0, 100'000};

// What an idle loopback connection costs, measured on this project's
// reference machine (docs/benchmarks.md): about 10 KiB of kernel memory for
// its two sockets, and 1.1 KiB in gotit-reactor. The preflight uses them.
constexpr std::uint64_t kKernelBytesPerLoopbackConnection = 10 * 1024;
constexpr std::uint64_t kServerBytesPerConnection = 1127;

std::uint64_t hard_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) throw SystemError("getrlimit", errno);
  return limit.rlim_max;
}

int per_helper_capacity() {
  return static_cast<int>(std::min<std::uint64_t>(hard_file_limit(), 1 << 30)) - kHelperReserve;
}

// Below this many connections per helper a fleet would be hundreds of
// processes: the file limit is the problem to fix, and run_bench says how.
constexpr int kMinPerHelper = 1000;

bool needs_fleet(const RunOptions& options) {
  return descriptors_needed(options.idle, options.conns) > hard_file_limit() &&
         per_helper_capacity() >= kMinPerHelper;
}

double gib(std::uint64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024 * 1024); }

// Refuses a pool the machine cannot hold, before opening anything.
void check_memory(const BenchContext& context, int target) {
  const bool loopback = is_ipv4_loopback(context.target);
  const std::uint64_t each =
      loopback ? kKernelBytesPerLoopbackConnection + kServerBytesPerConnection
               : kKernelBytesPerLoopbackConnection / 2;
  const std::uint64_t needed = each * static_cast<std::uint64_t>(target);
  const std::uint64_t available = read_kernel_memory().available_bytes;
  if (available == 0 || needed <= available) return;
  throw BenchError(fmt::format(
      "--idle {} needs about {:.1f} GiB ({} B per connection: {}), but MemAvailable is {:.1f} GiB; "
      "at most about {} fit",
      target, gib(needed), each,
      loopback ? "~10 KiB of kernel memory for its two loopback sockets and ~1.1 KiB in the server"
               : "~5 KiB of kernel memory for this end",
      gib(available), available / each));
}

SourceAddress loopback_address(int host) {
  SourceAddress source;
  auto& v4 = reinterpret_cast<sockaddr_in&>(source.address);
  v4.sin_family = AF_INET;
  v4.sin_addr.s_addr = htonl((127u << 24) | static_cast<std::uint32_t>(host));
  source.length = sizeof(sockaddr_in);
  return source;
}

}  // namespace

int idle_in_this_process(const RunOptions& options) {
  return needs_fleet(options) ? 0 : options.idle;
}

std::unique_ptr<IdleHolder> make_idle_holder(BenchContext& context, int target) {
  check_memory(context, target);
  if (!needs_fleet(context.options)) return std::make_unique<IdlePool>(context, target);
  return std::make_unique<IdleFleet>(context, target, per_helper_capacity());
}

IdleFleet::IdleFleet(BenchContext& context, int target, int per_helper)
    : context_(context), target_(target) {
  if (per_helper <= 0) throw BenchError("the file limit leaves no room for idle connections");
  plan(per_helper);
}

// Splits the target evenly over as few helpers as the file limit allows and
// gives each its source addresses: its share of --source-addrs, or to a
// server on 127.x.x.x its own run of 127.0.0.N, kPerSource connections each.
void IdleFleet::plan(int per_helper) {
  const int count = (target_ + per_helper - 1) / per_helper;
  helpers_.resize(static_cast<std::size_t>(count));
  const auto& given = context_.options.source_addrs;
  const bool loopback = is_ipv4_loopback(context_.target);
  int next_host = 1;
  for (int i = 0; i < count; ++i) {
    Helper& helper = helpers_[static_cast<std::size_t>(i)];
    helper.fleet = this;
    helper.target = target_ / count + (i < target_ % count ? 1 : 0);
    for (std::size_t a = static_cast<std::size_t>(i); a < given.size(); a += static_cast<std::size_t>(count)) {
      helper.sources.push_back(given[a]);
    }
    if (helper.sources.empty() && !given.empty()) helper.sources = given;
    if (given.empty() && loopback) {
      for (int k = 0; k < (helper.target + kPerSource - 1) / kPerSource; ++k) {
        helper.sources.push_back(loopback_address(next_host));
        next_host = next_host % 254 + 1;  // 127.0.0.1 .. 127.0.0.254
      }
    }
  }
  fmt::print(stderr, "idle: {} connections from {} helper processes ({} each at most), {}\n",
             target_, count, per_helper,
             given.empty() && loopback
                 ? fmt::format("source addresses 127.0.0.1-127.0.0.{}", next_host == 1 ? 254 : next_host - 1)
                 : std::string("source addresses as given"));
}

void IdleFleet::start() {
  for (Helper& helper : helpers_) start_helper(helper);
}

void IdleFleet::start_helper(Helper& helper) {
  int ends[2];
  if (pipe2(ends, O_CLOEXEC) != 0) throw SystemError("pipe2", errno);
  UniqueFd read_end(ends[0]), write_end(ends[1]);
  if (fcntl(ends[0], F_SETFL, O_NONBLOCK) != 0) throw SystemError("fcntl O_NONBLOCK", errno);
  std::fflush(nullptr);  // nothing buffered is written twice
  const pid_t bench = getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw SystemError("fork idle helper", errno);
  if (pid == 0) {
    read_end.reset();
    run_helper(helper, bench, write_end.get());
  }
  helper.pid = pid;
  helper.reports = std::move(read_end);
  helper.event = make_event(context_.base.get(), helper.reports.get(), EV_READ | EV_PERSIST,
                            on_report, &helper);
  add_event(helper.event.get());
}

namespace {

struct HelperLoop {
  IdlePool* pool;
  RunResult* result;
  int report_fd;
  HelperReport last_sent;
};

HelperReport current_report(const HelperLoop& loop) {
  HelperReport report;
  report.opened = loop.pool->opened();
  report.failed = loop.pool->failed();
  report.held = loop.pool->held();
  report.done = loop.pool->done() ? 1 : 0;
  report.errors = loop.result->errors;
  return report;
}

void send_report(HelperLoop& loop, const HelperReport& report) {
  if (::write(loop.report_fd, &report, sizeof report) != sizeof report) {
    ::_exit(1);  // the bench is gone: nothing left to hold for
  }
  loop.last_sent = report;
}

bool same(const HelperReport& a, const HelperReport& b) {
  return a.opened == b.opened && a.failed == b.failed && a.held == b.held && a.done == b.done &&
         a.errors == b.errors;
}

void on_helper_tick(evutil_socket_t, short, void* argument) {
  HelperLoop& loop = *static_cast<HelperLoop*>(argument);
  send_report(loop, current_report(loop));
}

}  // namespace

// The child. It must not touch the parent's loop (the epoll instance is
// shared after fork), so it builds its own context and never returns: it
// holds its connections until SIGTERM, or until the parent dies.
void IdleFleet::run_helper(Helper& helper, pid_t bench, int report_fd) {
  int code = 0;
  try {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) throw SystemError("prctl", errno);
    // The bench may have died before prctl took effect: then nobody would end us.
    if (getppid() != bench) throw SystemError("the bench exited before its idle helper started", ESRCH);
    for (Helper& other : helpers_) other.reports.reset();  // earlier helpers' pipes
    RunOptions options = context_.options;
    options.source_addrs = helper.sources;
    options.idle = helper.target;
    RunResult result;
    BenchContext context(options, result);
    IdlePool pool(context, helper.target);
    HelperLoop loop{&pool, &result, report_fd, {}};
    // While opening, the counts go to the bench every 100 ms (its progress
    // line). Once every connect has ended, the timer stops and a report goes
    // only when something changed (a held connection lost): an idle pool
    // that woke its helpers ten times a second would load the machine whose
    // latency the bench is measuring.
    EventPtr tick = make_event(context.base.get(), -1, EV_PERSIST, on_helper_tick, &loop);
    add_event(tick.get(), std::chrono::milliseconds(100));
    pool.start();
    bool examples_shown = false;
    for (;;) {  // until SIGTERM
      if (event_base_loop(context.base.get(), EVLOOP_ONCE) < 0) throw BenchError("event_base_loop failed");
      if (!pool.done()) continue;
      if (!examples_shown) {
        examples_shown = true;
        tick.reset();
        for (const std::string& example : result.first_error) {
          if (!example.empty()) fmt::print(stderr, "idle helper {}: {}\n", getpid(), example);
        }
        if (!result.idle_gave_up.empty()) fmt::print(stderr, "idle helper {}: {}\n", getpid(), result.idle_gave_up);
      }
      const HelperReport now = current_report(loop);
      if (!same(now, loop.last_sent)) send_report(loop, now);
    }
  } catch (const std::exception& failure) {
    fmt::print(stderr, "idle helper {}: {}\n", getpid(), failure.what());
    code = 1;
  }
  std::fflush(stderr);
  ::_exit(code);
}

// Readability on a helper's pipe: its latest counts, or EOF when it ended.
void IdleFleet::on_report(evutil_socket_t fd, short, void* argument) {
  Helper& helper = *static_cast<Helper*>(argument);
  HelperReport report;
  ssize_t n;
  bool got = false;
  while ((n = ::read(fd, &report, sizeof report)) == sizeof report) got = true;
  if (got) helper.fleet->absorb(helper, report);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
    helper.ended = true;
    helper.event.reset();
    HelperReport gone = helper.last;
    gone.held = 0;  // whatever it held closed with it
    gone.done = 1;
    gone.failed = helper.target - gone.opened;
    helper.fleet->absorb(helper, gone);
  }
}

// Errors are added to the run's result as they arrive, so a run with
// failures in a helper is not clean.
void IdleFleet::absorb(Helper& helper, const HelperReport& report) {
  for (std::size_t k = 0; k < kErrorKinds; ++k) {
    const std::uint64_t added = report.errors[k] - std::min(report.errors[k], helper.last.errors[k]);
    if (added == 0) continue;
    context_.result.errors[k] += added;
    if (context_.result.first_error[k].empty()) {
      context_.result.first_error[k] = fmt::format("in idle helper {} (its message is on stderr)", helper.pid);
    }
  }
  helper.last = report;
}

bool IdleFleet::done() const {
  return std::all_of(helpers_.begin(), helpers_.end(), [](const Helper& h) { return h.last.done != 0; });
}

int IdleFleet::opened() const {
  int sum = 0;
  for (const Helper& helper : helpers_) sum += helper.last.opened;
  return sum;
}

int IdleFleet::failed() const {
  int sum = 0;
  for (const Helper& helper : helpers_) sum += helper.last.failed;
  return sum;
}

int IdleFleet::held() const {
  int sum = 0;
  for (const Helper& helper : helpers_) sum += helper.last.held;
  return sum;
}

// SIGTERM ends a helper at once; the kernel closes its connections (an
// orderly FIN each: none has unread data).
IdleFleet::~IdleFleet() {
  for (const Helper& helper : helpers_) {
    if (helper.pid > 0 && ::kill(helper.pid, SIGTERM) != 0) {
      fmt::print(stderr, "kill idle helper {}: {}\n", helper.pid, std::strerror(errno));
    }
  }
  for (const Helper& helper : helpers_) {
    if (helper.pid <= 0) continue;
    while (::waitpid(helper.pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
}

}  // namespace gotit

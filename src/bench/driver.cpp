#include "gotit/bench/driver.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fmt/format.h>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "gotit/bench/connection.hpp"
#include "gotit/bench/context.hpp"
#include "gotit/bench/socket.hpp"
#include "gotit/bench/idle_cost.hpp"
#include "gotit/bench/idle_fleet.hpp"
#include "gotit/bench/idle_pool.hpp"

namespace gotit {

namespace {

constexpr auto kTick = std::chrono::milliseconds(20);

double seconds_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

Clock::duration from_seconds(double seconds) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

// Runs the phases in order. Owns the context (and so the loop), the idle
// pool and the active connections; the teardown order is theirs reversed:
// connections and pool close their sockets before the loop goes away.
class Driver {
 public:
  Driver(const RunOptions& options, RunResult& result)
      : options_(options), result_(result), context_(options, result),
        tty_(options.progress && isatty(STDERR_FILENO) == 1) {
    result_.target = context_.target.text;  // resolved once, by the context
    ticker_ = make_event(context_.base.get(), -1, EV_PERSIST, on_tick, this);
    add_event(ticker_.get(), kTick);
    window_timer_ = make_event(context_.base.get(), -1, 0, on_window_timer, this);
  }

  void run() {
    open_idle();
    connect_active();
    load();
    drain();
    for (auto& connection : connections_) connection->finish();
    result_.idle_held = pool_ ? pool_->held() : 0;
  }

 private:
  // Runs the loop until `done` holds (checked every tick) or `deadline`.
  void run_until(std::function<bool()> done, Clock::time_point deadline) {
    done_ = std::move(done);
    deadline_ = deadline;
    if (done_()) return;
    if (event_base_dispatch(context_.base.get()) < 0) throw BenchError("event_base_dispatch failed");
  }

  static void on_tick(evutil_socket_t, short, void* argument) {
    auto& self = *static_cast<Driver*>(argument);
    const Clock::time_point now = Clock::now();
    for (auto& connection : self.connections_) connection->check_stalled(now);
    self.show_progress(now, false);
    self.take_interval(now);
    if (self.done_() || now >= self.deadline_) event_base_loopbreak(self.context_.base.get());
  }

  void open_idle() {
    if (options_.idle == 0) return;
    phase_ = "idle";
    const Clock::time_point start = Clock::now();
    phase_start_ = start;
    const IdleCostBaseline baseline = measure_idle_baseline(options_.server_pid);
    pool_ = make_idle_holder(context_, options_.idle);
    pool_->start();
    // Each connect is bounded by --connect-timeout; the whole pool by this.
    const auto rounds = options_.idle / IdlePool::kMaxConnecting + 2;
    run_until([this] { return pool_->done(); }, start + context_.connect_timeout * rounds);
    result_.idle_opened = pool_->opened();
    result_.idle_open_seconds = seconds_between(start, Clock::now());
    show_progress(Clock::now(), true);
    if (!result_.idle_gave_up.empty()) fmt::print(stderr, "{}\n", result_.idle_gave_up);
    suggest_more_sources();
    wait_for_server_to_settle();
    if (options_.server_pid > 0) result_.server_after_idle = sample_process_tree(options_.server_pid);
    fmt::print("{}", format_idle_cost(baseline, options_.server_pid, pool_->held()));
    std::fflush(stdout);
  }

  // A pool this large from one address met Linux's slow port scan (see
  // kLoopbackSources): say how to avoid it, once, on stderr.
  void suggest_more_sources() const {
    if (!options_.source_addrs.empty() || !is_ipv4_loopback(context_.target) ||
        idle_in_this_process(options_) == 0 ||  // the fleet spreads them itself
        options_.idle + options_.conns <= kFastConnectsFromOneAddress) {
      return;
    }
    fmt::print(stderr,
               "note: opening {} connections from one address took {:.2f} s; past about {} Linux's "
               "connect() scans every port in use. --source-addrs {} spreads them.\n",
               options_.idle, result_.idle_open_seconds, kFastConnectsFromOneAddress,
               kLoopbackSources);
  }

  // Our connects completed in the kernel's accept queue, not yet in the
  // server: it may still be accepting (or spawning a thread or process per
  // connection) when the measurement would start, and that work would be
  // charged to the active clients. So with --server-pid we wait until the
  // server's CPU goes quiet: two samples 100 ms apart under 2 ms of CPU each.
  void wait_for_server_to_settle() {
    if (options_.server_pid <= 0) return;
    const auto limit = Clock::now() + std::chrono::seconds(5 + options_.idle / 1000);
    auto previous = sample_process_tree(options_.server_pid);
    int quiet = 0;
    while (previous && quiet < 2 && Clock::now() < limit) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      const auto now = sample_process_tree(options_.server_pid);
      if (!now) break;
      quiet = now->cpu_seconds - previous->cpu_seconds < 0.002 ? quiet + 1 : 0;
      previous = now;
    }
  }

  void connect_active() {
    phase_ = "connect";
    for (int i = 0; i < options_.conns; ++i) {
      connections_.push_back(std::make_unique<BenchConnection>(context_, i));
      connections_.back()->connect();
    }
    run_until([this] { return count(BenchConnection::State::connecting) == 0; },
              Clock::now() + context_.connect_timeout + kTick);
    result_.active_connected = count(BenchConnection::State::running);
    if (result_.active_connected == 0) {
      // The first error says what went wrong: a connect that failed, or a
      // server that accepted and then refused ("Error: server full").
      const auto& examples = result_.first_error;
      const auto first = std::find_if(examples.begin(), examples.end(),
                                      [](const std::string& example) { return !example.empty(); });
      if (first == examples.end()) {
        throw BenchError(fmt::format("cannot connect to {}: no connection succeeded", context_.target.text));
      }
      const auto kind = static_cast<ErrorKind>(first - examples.begin());
      const bool connect_failed = kind == ErrorKind::connect_refused || kind == ErrorKind::connect_timeout ||
                                  kind == ErrorKind::connect_failed;
      if (connect_failed) throw BenchError(fmt::format("cannot connect to {}: {}", context_.target.text, *first));
      throw BenchError(fmt::format("{} accepted every active connection, then: {}", context_.target.text, *first));
    }
  }

  void load() {
    phase_ = "load";
    const Clock::time_point start = Clock::now();
    phase_start_ = start;
    context_.window_start = start + from_seconds(options_.warmup_s);
    context_.window_end = context_.window_start + from_seconds(options_.duration_s);
    context_.sending = true;
    interval_start_ = start;
    interval_due_ = start + from_seconds(options_.interval_s);
    interval_replies_ = result_.replies;
    interval_errors_ = result_.total_errors();
    context_.interval_latency = LatencyHistogram();
    for (auto& connection : connections_) connection->start_load();
    add_event(window_timer_.get(), context_.window_start - start);
    run_until([this] { return window_closed_; }, context_.window_end + 10 * kTick);
    if (!window_closed_) close_window();  // the timer is late: close now
  }

  // The window timer fires twice: at the window's start, then at its end.
  static void on_window_timer(evutil_socket_t, short, void* argument) {
    auto& self = *static_cast<Driver*>(argument);
    if (!self.window_open_) {
      self.open_window();
    } else {
      self.close_window();
      event_base_loopbreak(self.context_.base.get());
    }
  }

  void open_window() {
    window_open_ = true;
    bench_cpu_start_ = own_cpu_seconds();
    if (options_.server_pid > 0) {
      if (const auto sample = sample_process_tree(options_.server_pid)) server_cpu_start_ = sample->cpu_seconds;
    }
    add_event(window_timer_.get(), context_.window_end - Clock::now());
  }

  void close_window() {
    if (!window_open_) open_window();
    window_closed_ = true;
    context_.sending = false;
    for (auto& connection : connections_) connection->count_overdue(context_.window_end);
    result_.duration_s = seconds_between(context_.window_start, context_.window_end);
    result_.bench_cpu_seconds = own_cpu_seconds() - bench_cpu_start_;
    if (options_.server_pid > 0) {
      result_.server_at_end = sample_process_tree(options_.server_pid);
      if (result_.server_at_end) result_.server_cpu_seconds = result_.server_at_end->cpu_seconds - server_cpu_start_;
    }
  }

  void drain() {
    phase_ = "drain";
    run_until([this] {
      for (const auto& connection : connections_) {
        if (connection->in_flight() > 0) return false;
      }
      return true;
    }, Clock::now() + context_.timeout + kTick);
    show_progress(Clock::now(), true);
  }

  int count(BenchConnection::State state) const {
    int n = 0;
    for (const auto& connection : connections_) n += connection->state() == state ? 1 : 0;
    return n;
  }

  void show_progress(Clock::time_point now, bool final);

  // --interval: during the load, a line on stdout and a record per interval.
  void take_interval(Clock::time_point now) {
    // Due on a fixed schedule from the load's start, so ticks (20 ms) late
    // do not add up; the rate divides by the time that really passed.
    if (options_.interval_s <= 0 || !context_.sending || now < interval_due_) return;
    interval_due_ += from_seconds(options_.interval_s);
    IntervalSample sample;
    sample.end_s = seconds_between(phase_start_, now);
    sample.requests_per_s = static_cast<double>(result_.replies - interval_replies_) /
                            seconds_between(interval_start_, now);
    sample.p99_ns = context_.interval_latency.percentile(99);
    sample.errors = result_.total_errors() - interval_errors_;
    sample.open = count(BenchConnection::State::running) + (pool_ ? pool_->held() : 0);
    result_.intervals.push_back(sample);
    fmt::print("interval      {:6.1f} s  {:9.0f} {}/s  p99 {:9.1f} us  {} errors  {} open\n", sample.end_s,
               sample.requests_per_s, options_.new_connection_per_request ? "connections" : "requests",
               static_cast<double>(sample.p99_ns) / 1000.0, sample.errors, sample.open);
    std::fflush(stdout);
    interval_start_ = now;
    interval_replies_ = result_.replies;
    interval_errors_ = result_.total_errors();
    context_.interval_latency = LatencyHistogram();
  }

  const RunOptions& options_;
  RunResult& result_;
  BenchContext context_;
  std::unique_ptr<IdleHolder> pool_;
  std::vector<std::unique_ptr<BenchConnection>> connections_;
  EventPtr ticker_;
  EventPtr window_timer_;
  std::function<bool()> done_ = [] { return true; };
  Clock::time_point deadline_;
  bool window_open_ = false;
  bool window_closed_ = false;
  double bench_cpu_start_ = 0.0;
  double server_cpu_start_ = 0.0;
  bool tty_;
  const char* phase_ = "";
  Clock::time_point phase_start_;
  Clock::time_point last_shown_;
  Clock::time_point interval_start_;
  Clock::time_point interval_due_;
  std::uint64_t interval_replies_ = 0;
  std::uint64_t interval_errors_ = 0;
};

// On a terminal, one line rewritten in place; otherwise a plain line per
// second during the idle phase only, so logs stay short.
void Driver::show_progress(Clock::time_point now, bool final) {
  if (!options_.progress) return;
  const bool idle = std::string_view(phase_) == "idle";
  const auto every = tty_ ? std::chrono::milliseconds(100) : std::chrono::milliseconds(1000);
  if (!final && now - last_shown_ < every) return;
  if (!tty_ && !idle) return;
  last_shown_ = now;
  const double elapsed = seconds_between(phase_start_, now);
  std::string line;
  if (idle && pool_) {
    line = fmt::format("idle: {}/{} opened, {:.0f}/s, {} failed, {} lost", pool_->opened(), pool_->target(),
                       elapsed > 0 ? pool_->opened() / elapsed : 0.0, pool_->failed(),
                       pool_->opened() - pool_->held());
  } else if (tty_) {
    line = fmt::format("load: {:.1f} s, {} replies, {} errors", elapsed, result_.replies, result_.total_errors());
  }
  if (tty_) {
    fmt::print(stderr, "\r\033[K{}{}", line, final && idle ? "\n" : "");
    if (final && !idle) fmt::print(stderr, "\r\033[K");
  } else {
    fmt::print(stderr, "{}\n", line);
  }
  std::fflush(stderr);
}

}  // namespace

namespace {

// A connection per request leaves a TIME_WAIT socket per connection on our
// side (we close first) and uses a fresh port each time: from one address
// the ports to one server run short within seconds (see kLoopbackSources).
// So a server on 127.x.x.x is reached from eight loopback addresses unless
// --source-addrs says otherwise.
RunOptions with_sources(const RunOptions& options, RunResult& result) {
  RunOptions effective = options;
  if (options.new_connection_per_request && options.source_addrs.empty() &&
      is_ipv4_loopback(resolve_target(options.host, options.port))) {
    effective.source_addrs = parse_source_addrs(kLoopbackSources);
    result.sources = fmt::format("{} (chosen for the connection rate)", kLoopbackSources);
  } else if (!options.source_addrs.empty()) {
    result.sources = fmt::format("{} addresses (--source-addrs)", options.source_addrs.size());
  }
  return effective;
}

}  // namespace

RunResult run_bench(const RunOptions& requested) {
  RunResult result;
  const RunOptions options = with_sources(requested, result);
  ensure_file_limit(descriptors_needed(idle_in_this_process(options), options.conns),
                    fmt::format("--idle {} with --conns {}", options.idle, options.conns));
  result.idle_target = options.idle;
  result.conns = options.conns;
  result.depth = options.depth;
  result.rate = options.rate;
  result.request_bytes = options.request.size();
  result.warmup_s = options.warmup_s;
  result.new_connection_per_request = options.new_connection_per_request;
  result.close_rst = options.close_rst;
  Driver driver(options, result);
  driver.run();
  return result;
}

}  // namespace gotit

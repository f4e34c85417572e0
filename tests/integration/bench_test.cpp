// The bench against an in-process server that can be told to misbehave:
// every reply counted, a dropped or corrupted reply caught, the window
// respected, and clear failures when the run cannot happen.
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "catch.hpp"
#include "gotit/bench/driver.hpp"
#include "gotit/bench/idle_pool.hpp"
#include "gotit/bench/report.hpp"
#include "gotit/bench/server_process.hpp"
#include "gotit/bench/sweep.hpp"
#include "support/line_server.hpp"
#include "support/process.hpp"

using namespace std::chrono_literals;
using gotit::ErrorKind;
using gotit::RunOptions;
using gotit::RunResult;
using gotit::test::Fault;
using gotit::test::LineServer;
using gotit::test::LineServerOptions;

namespace {

RunOptions quick(std::uint16_t port) {
  RunOptions options;
  options.port = port;
  options.conns = 4;
  options.depth = 8;
  options.duration_s = 0.3;
  options.warmup_s = 0.1;
  options.timeout_s = 2.0;
  options.progress = false;
  return options;
}

std::uint64_t errors(const RunResult& result, ErrorKind kind) {
  return result.errors[static_cast<std::size_t>(kind)];
}

}  // namespace

TEST_CASE("every reply is counted and checked") {
  LineServer server;
  const RunResult result = gotit::run_bench(quick(server.port()));
  CHECK(result.total_errors() == 0);
  CHECK(result.missing_replies == 0);
  CHECK(result.active_connected == 4);
  CHECK(result.requests_sent > 0);
  CHECK(result.replies == result.requests_sent);
  CHECK(result.replies == server.messages());  // both sides agree
  CHECK(result.replies_in_window <= result.replies);
  CHECK(result.latency.count() > 0);
  CHECK(result.latency.count() <= result.replies);
}

TEST_CASE("echo mode checks the content of every reply") {
  LineServer echo({gotit::ReplyMode::echo});
  RunOptions options = quick(echo.port());
  options.expect = gotit::ExpectKind::echo;
  options.request = "some text\r\n";
  RunResult result = gotit::run_bench(options);
  CHECK(result.total_errors() == 0);
  CHECK(result.replies == echo.messages());

  LineServer gotit_server;  // answers "Got it!" where the bench expects the echo
  options.port = gotit_server.port();
  options.duration_s = 0.1;
  result = gotit::run_bench(options);
  CHECK(errors(result, ErrorKind::wrong_reply) > 0);
  CHECK(result.replies == 0);
}

TEST_CASE("tagged echo requests check the order of replies") {
  LineServer echo({gotit::ReplyMode::echo});
  RunOptions options = quick(echo.port());
  options.expect = gotit::ExpectKind::echo;
  options.request = std::string(31, 'x') + "\n";
  options.sequence_tags = true;
  RunResult result = gotit::run_bench(options);
  CHECK(result.total_errors() == 0);
  CHECK(result.replies == echo.messages());

  LineServer reorder({gotit::ReplyMode::echo, Fault::reorder, 30});
  options.port = reorder.port();
  result = gotit::run_bench(options);
  CHECK(errors(result, ErrorKind::wrong_reply) == 1);
  INFO(gotit::format_table(result));
  CHECK(result.first_error[static_cast<std::size_t>(ErrorKind::wrong_reply)].find("expected \"0000") !=
        std::string::npos);
}

TEST_CASE("a dropped reply is detected as missing") {
  LineServer server({gotit::ReplyMode::gotit, Fault::drop, 50});
  RunOptions options = quick(server.port());
  options.timeout_s = 0.3;
  const RunResult result = gotit::run_bench(options);
  CHECK(errors(result, ErrorKind::reply_timeout) >= 1);
  CHECK(result.missing_replies >= 1);
  CHECK(result.replies + result.missing_replies == result.requests_sent);
  INFO(gotit::format_table(result));
  CHECK(gotit::format_table(result).find("reply_timeout") != std::string::npos);
}

TEST_CASE("a corrupted reply is detected, and the run goes on") {
  LineServer server({gotit::ReplyMode::gotit, Fault::corrupt, 50});
  const RunResult result = gotit::run_bench(quick(server.port()));
  CHECK(errors(result, ErrorKind::wrong_reply) == 1);
  CHECK(result.first_error[static_cast<std::size_t>(ErrorKind::wrong_reply)].find("Got iX!") !=
        std::string::npos);
  CHECK(result.replies > 50);  // the connection was reopened and kept working
  CHECK(result.replies + result.missing_replies == result.requests_sent);
}

TEST_CASE("a server that never answers: every request missing, none invented") {
  LineServer server({gotit::ReplyMode::gotit, Fault::stall, 0});
  RunOptions options = quick(server.port());
  options.duration_s = 0.2;
  options.warmup_s = 0;
  options.timeout_s = 0.3;
  const RunResult result = gotit::run_bench(options);
  CHECK(result.replies == 0);
  CHECK(result.missing_replies == result.requests_sent);
  CHECK(errors(result, ErrorKind::reply_timeout) >= 1);
  CHECK(result.latency.count() == 0);
}

TEST_CASE("the run respects --duration and --warmup") {
  LineServer server;
  RunOptions options = quick(server.port());
  options.duration_s = 0.5;
  options.warmup_s = 0.2;
  const auto start = std::chrono::steady_clock::now();
  const RunResult result = gotit::run_bench(options);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(result.duration_s == Approx(0.5).margin(0.001));
  CHECK(elapsed >= 700ms);
  CHECK(elapsed < 700ms + 2s);  // a drain bounded by --timeout, not forever
}

TEST_CASE("open loop: no more requests than the schedule allows") {
  LineServer server;
  RunOptions options = quick(server.port());
  options.rate = 1000;  // 0.4 s in all: about 400 requests
  const RunResult result = gotit::run_bench(options);
  CHECK(result.total_errors() == 0);
  CHECK(result.requests_sent > 0);
  CHECK(result.requests_sent <= 400 + 4 + 20);
  CHECK(result.replies == result.requests_sent);
}

TEST_CASE("open loop: requests due but never sent while the server is behind are counted and timed") {
  // Message 5 gets no reply: with depth 1 the connection can send nothing
  // more, and its schedule falls behind for the rest of the window.
  LineServer server({gotit::ReplyMode::gotit, Fault::drop, 5});
  RunOptions options = quick(server.port());
  options.conns = 1;
  options.depth = 1;
  options.rate = 1000;
  options.warmup_s = 0;
  options.duration_s = 0.3;
  options.timeout_s = 0.5;  // the stall is seen after the window
  const RunResult result = gotit::run_bench(options);
  INFO(gotit::format_table(result));
  CHECK(result.missing_replies == 1);  // the one dropped, waiting when the window closed
  CHECK(result.overdue_unsent >= 250);
  CHECK(result.overdue_unsent <= 300);
  CHECK(result.latency.count() == result.replies + result.overdue_unsent);
  CHECK(result.latency.max() >= 200'000'000);  // the first overdue waited ~0.3 s
  CHECK(gotit::format_table(result).find("never sent") != std::string::npos);
}

TEST_CASE("idle connections are opened, held and counted") {
  LineServer server;
  RunOptions options = quick(server.port());
  options.idle = 200;
  options.duration_s = 0.1;
  const RunResult result = gotit::run_bench(options);
  CHECK(result.idle_opened == 200);
  CHECK(result.idle_held == 200);
  CHECK(server.accepted() == 200 + 4);
  CHECK(result.total_errors() == 0);
}

TEST_CASE("an idle connection the server closes is counted as lost, not held") {
  // The idle pool connects first, so the first 30 accepted are idle ones.
  LineServer server({gotit::ReplyMode::gotit, Fault::close_first, 30});
  RunOptions options = quick(server.port());
  options.idle = 200;
  options.duration_s = 0.2;
  const RunResult result = gotit::run_bench(options);
  CHECK(result.idle_opened == 200);
  CHECK(result.idle_held == 170);
  CHECK(errors(result, ErrorKind::idle_closed) == 30);
  CHECK(result.total_errors() == 30);
}

TEST_CASE("--source-addrs spreads connections over local addresses") {
  LineServer server;
  RunOptions options = quick(server.port());
  options.source_addrs = gotit::parse_source_addrs("127.0.0.1-127.0.0.3");
  options.conns = 6;
  options.duration_s = 0.1;
  const RunResult result = gotit::run_bench(options);
  CHECK(result.total_errors() == 0);
  CHECK(server.peers() == std::set<std::string>{"127.0.0.1", "127.0.0.2", "127.0.0.3"});
}

TEST_CASE("without --source-addrs the kernel chooses: to 127.0.0.1, from 127.0.0.1") {
  LineServer server;
  RunOptions options = quick(server.port());
  options.conns = 2;
  options.idle = 10;
  options.duration_s = 0.1;
  const RunResult result = gotit::run_bench(options);
  CHECK(result.total_errors() == 0);
  CHECK(server.peers() == std::set<std::string>{"127.0.0.1"});
}

TEST_CASE("--server-pid reports the server's memory, CPU and threads") {
  LineServer server;  // runs in this process: its pid is ours
  RunOptions options = quick(server.port());
  options.server_pid = static_cast<int>(getpid());
  const RunResult result = gotit::run_bench(options);
  REQUIRE(result.server_at_end);
  CHECK(result.server_at_end->rss_bytes > 0);
  CHECK(result.server_at_end->peak_rss_bytes >= result.server_at_end->rss_bytes);
  CHECK(result.server_at_end->threads >= 2);
  CHECK(gotit::format_json(result).find("\"server_at_end\": {\"rss_bytes\"") != std::string::npos);
}

TEST_CASE("an unreachable port fails clearly") {
  // Free a moment ago and closed again: nothing listens, connects are refused.
  const std::uint16_t refusing_port = gotit::pick_free_port();
  RunOptions options = quick(refusing_port);
  REQUIRE_THROWS_AS(gotit::run_bench(options), gotit::BenchError);
  try {
    gotit::run_bench(options);
  } catch (const gotit::BenchError& error) {
    const std::string message = error.what();
    CHECK(message.find("cannot connect to 127.0.0.1:") != std::string::npos);
    CHECK(message.find("Connection refused") != std::string::npos);
  }
  const auto run = gotit::test::run_program(
      GOTIT_GOTIT_BENCH_BIN, {"run", "--port", std::to_string(refusing_port), "--no-progress"});
  CHECK(run.status.code == 1);
  CHECK(run.err.find("gotit-bench: error: cannot connect") != std::string::npos);
}

TEST_CASE("an idle pool the server stops taking gives up after a window of timeouts") {
  // Never accepts: its queue (backlog 1024) takes the first connects, then
  // the kernel drops SYNs and every connect times out.
  LineServer server({gotit::ReplyMode::gotit, Fault::stall, 0});
  const int idle = 1025 + 2 * gotit::IdlePool::kMaxConnecting + 1000;
  const auto run = gotit::test::run_program(
      GOTIT_GOTIT_BENCH_BIN, {"run", "--port", std::to_string(server.port()), "--idle", std::to_string(idle),
                              "--connect-timeout", "0.3", "--conns", "1", "--duration", "0.1", "--no-progress"});
  INFO(run.err);
  CHECK(run.status.code == 1);  // the active connection cannot connect either
  CHECK(run.err.find(fmt::format("idle: {} connects in a row timed out (--connect-timeout 0.3 s): the server "
                                 "takes no more connections",
                                 gotit::IdlePool::kTimeoutsInARowToGiveUp)) != std::string::npos);
  CHECK(run.err.find(fmt::format(" of {} not tried", idle)) != std::string::npos);
}

TEST_CASE("a file limit too low for --idle fails clearly, naming ulimit -n") {
  // setrlimit in a forked child: lowering the hard limit cannot be undone.
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(fds[0]);
    const rlimit low{100, 100};
    std::string message = "setrlimit failed";
    if (::setrlimit(RLIMIT_NOFILE, &low) == 0) {
      RunOptions options;
      options.port = 1;
      options.idle = 5000;
      options.progress = false;
      try {
        gotit::run_bench(options);
        message = "no error";
      } catch (const gotit::BenchError& error) {
        message = error.what();
      } catch (const std::exception& error) {
        message = std::string("wrong exception: ") + error.what();
      }
    }
    const ssize_t ignored = ::write(fds[1], message.data(), message.size());
    (void)ignored;
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string message;
  char buffer[512];
  ssize_t n;
  while ((n = ::read(fds[0], buffer, sizeof buffer)) > 0) message.append(buffer, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  INFO(message);
  CHECK(message.find("--idle 5000") != std::string::npos);
  CHECK(message.find("ulimit -n") != std::string::npos);
  CHECK(message.find("hard limit is 100") != std::string::npos);
}

namespace {

RunOptions churn(std::uint16_t port) {
  RunOptions options = quick(port);
  options.new_connection_per_request = true;
  options.depth = 1;
  options.duration_s = 0.2;
  options.warmup_s = 0.05;
  return options;
}

}  // namespace

TEST_CASE("a connection per request: every connection and reply counted, from eight sources") {
  LineServer server;
  const RunResult result = gotit::run_bench(churn(server.port()));
  INFO(gotit::format_table(result));
  CHECK(result.total_errors() == 0);
  CHECK(result.missing_replies == 0);
  CHECK(result.replies > 20);
  CHECK(result.replies == result.requests_sent);
  CHECK(server.messages() == result.replies);
  // One connection per reply, and at most one per client still being
  // opened when the run ended.
  CHECK(server.accepted() >= result.replies);
  CHECK(server.accepted() <= result.replies + 2 * 4);
  CHECK(result.connect_time.count() >= result.replies);  // the last ones connect after the window
  CHECK(result.connect_time.count() <= result.replies + 4);
  CHECK(server.peers().size() == 8);  // 127.0.0.1-127.0.0.8, chosen on its own
  CHECK(gotit::format_table(result).find("connections/s") != std::string::npos);
  CHECK(gotit::format_table(result).find("closed with FIN") != std::string::npos);
}

TEST_CASE("a connection per request closed with RST says so, and --source-addrs overrides the sources") {
  LineServer server;
  RunOptions options = churn(server.port());
  options.close_rst = true;
  options.source_addrs = gotit::parse_source_addrs("127.0.0.1");
  const RunResult result = gotit::run_bench(options);
  CHECK(result.total_errors() == 0);
  CHECK(server.accepted() >= result.replies);
  CHECK(server.accepted() <= result.replies + 4);
  CHECK(server.peers() == std::set<std::string>{"127.0.0.1"});
  CHECK(gotit::format_table(result).find("closed with RST") != std::string::npos);
  CHECK(gotit::format_json(result).find("\"close\": \"rst\"") != std::string::npos);
}

TEST_CASE("a connection per request: a close without reply and a reset are reported by kind") {
  LineServer hangs_up({gotit::ReplyMode::gotit, Fault::hang_up, 30});
  RunResult result = gotit::run_bench(churn(hangs_up.port()));
  INFO(gotit::format_table(result));
  CHECK(errors(result, ErrorKind::closed_by_server) == 1);
  CHECK(result.total_errors() == 1);
  CHECK(result.missing_replies == 1);
  CHECK(result.replies + 1 == hangs_up.messages());

  LineServer resets({gotit::ReplyMode::gotit, Fault::reset, 30});
  result = gotit::run_bench(churn(resets.port()));
  INFO(gotit::format_table(result));
  CHECK(errors(result, ErrorKind::reset_by_server) == 1);
  CHECK(result.total_errors() == 1);
  CHECK(result.replies + 1 == resets.messages());
}

TEST_CASE("a connection per request to a closed port fails, naming the refusal") {
  const std::uint16_t refusing_port = gotit::pick_free_port();
  RunOptions options = churn(refusing_port);
  std::string message;
  try {
    gotit::run_bench(options);
  } catch (const gotit::BenchError& error) {
    message = error.what();
  }
  CHECK(message.find("Connection refused") != std::string::npos);
}

TEST_CASE("--interval gives a record per interval of the load") {
  LineServer server;
  RunOptions options = quick(server.port());
  options.interval_s = 0.1;
  options.duration_s = 0.45;
  options.warmup_s = 0.1;
  const RunResult result = gotit::run_bench(options);
  CHECK(result.intervals.size() >= 4);
  CHECK(result.intervals.size() <= 6);
  for (const auto& interval : result.intervals) {
    CHECK(interval.requests_per_s > 0);
    CHECK(interval.p99_ns > 0);
    CHECK(interval.open == 4);
  }
  CHECK(gotit::format_json(result).find("\"intervals\": [{\"end_s\": ") != std::string::npos);
}

TEST_CASE("sweep finds the knee of a server that slows down above a known rate, within one step") {
  // Above 3000 messages/s every message costs 20 ms: capacity collapses to
  // 50/s, so p99 explodes past 3000 and stays far below the target (25 ms,
  // loose enough for a machine busy with builds) under it.
  LineServer server({gotit::ReplyMode::gotit, Fault::slow_above_rate, 3000, 20000});
  RunOptions options = quick(server.port());
  options.depth = 16;
  options.duration_s = 0.3;
  options.warmup_s = 0.1;
  gotit::SweepOptions sweep;
  sweep.from = 500;
  sweep.to = 8000;
  sweep.steps = 5;  // 500, 1000, 2000, 4000, 8000
  sweep.target_p99_us = 25000;
  const gotit::SweepResult result = gotit::run_sweep(options, sweep, {});
  std::string steps;
  for (const auto& step : result.steps) steps += gotit::format_sweep_step(step) + "\n";
  INFO(steps << gotit::format_sweep_summary(result, sweep));
  REQUIRE(result.knee);
  CHECK(*result.knee == Approx(2000));
  REQUIRE(result.steps.size() >= 4);
  CHECK(result.steps[2].result.latency.count() > 0);
  CHECK(gotit::us(result.steps[3].result.latency.percentile(99)) > 25000);
  // Below the knee every scheduled request went out and came back.
  CHECK(result.steps[0].kept_up);
  CHECK(result.steps[0].result.throughput() == Approx(500).epsilon(0.05));
}

TEST_CASE("sweep stops early, and says so, when the server cannot keep up") {
  LineServer server({gotit::ReplyMode::gotit, Fault::slow_above_rate, 0, 2000});  // always 2 ms: 500/s
  RunOptions options = quick(server.port());
  options.depth = 4;
  options.duration_s = 0.3;
  options.warmup_s = 0.05;
  gotit::SweepOptions sweep;
  sweep.from = 200;
  sweep.to = 12800;
  sweep.steps = 4;  // 200, 800, 3200, 12800
  const gotit::SweepResult result = gotit::run_sweep(options, sweep, {});
  INFO(gotit::format_sweep_summary(result, sweep));
  CHECK(result.steps.size() == 2);
  CHECK(!result.steps.back().kept_up);
  CHECK(result.stopped_early.find("cannot keep up") != std::string::npos);
}

// Stress (meson test --suite stress): 60,000 idle connections over four
// workers -- three times what one process may hold here -- opened by
// gotit-bench's helper processes, while its active client keeps getting
// answers; then a graceful stop of the master and all four workers.
#include <signal.h>

#include <chrono>
#include <string>

#include "catch.hpp"
#include "support/process.hpp"

namespace {

using namespace std::chrono_literals;
using gotit::test::ChildProcess;

const std::string kReactor = GOTIT_GOTIT_REACTOR_BIN;
const std::string kBench = GOTIT_GOTIT_BENCH_BIN;

// The number after "p99 " in the bench's report. Not std::regex: GCC 12 with
// sanitizers reports a false maybe-uninitialized inside it (-Werror).
double p99_of(const std::string& report) {
  const std::size_t at = report.find("p99 ");
  REQUIRE(at != std::string::npos);
  return std::stod(report.substr(at + 4));
}

gotit::test::RunResult bench(std::uint16_t port, pid_t server, int idle) {
  return gotit::test::run_program(
      kBench, {"run", "--port", std::to_string(port), "--idle", std::to_string(idle), "--conns", "1",
               "--duration", "2", "--warmup", "0.5", "--server-pid", std::to_string(server),
               "--no-progress"},
      std::nullopt, 300s);
}

}  // namespace

TEST_CASE("60,000 idle connections over 4 workers, an active client, a graceful stop") {
  ChildProcess master(kReactor, {"--workers", "4", "--port", "0", "--bind", "127.0.0.1"});
  const std::uint16_t port = master.wait_for_port();
  const auto quiet = bench(port, master.pid(), 0);
  INFO(quiet.out << quiet.err);
  REQUIRE(quiet.status.code == 0);

  const auto loaded = bench(port, master.pid(), 60'000);
  INFO(loaded.out << loaded.err);
  REQUIRE(loaded.status.code == 0);  // no error, nothing refused, lost or unanswered
  CHECK(loaded.out.find("60000/60000 opened") != std::string::npos);
  CHECK(loaded.out.find("60000 still held at the end") != std::string::npos);
  CHECK(loaded.out.find("over 4 workers") != std::string::npos);
  // Generous: the goal (1.25x) is the benchmark's; a test only catches a
  // server that stalls its active client behind the idle ones.
  CHECK(p99_of(loaded.out) < 5 * p99_of(quiet.out) + 1000);

  master.send_signal(SIGTERM);
  const auto status = master.wait(60s);
  REQUIRE(status);
  CHECK(status->code == 0);
}

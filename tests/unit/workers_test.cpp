// --workers: how it parses, how many workers `auto` picks, and what a
// master that fails to start leaves behind.
#include <signal.h>

#include <array>
#include <string>
#include <utility>
#include <vector>

#include "catch.hpp"
#include "support/parse_options.hpp"
#include "gotit/common/net.hpp"
#include "gotit/reactor/options.hpp"
#include "gotit/reactor/workers.hpp"

namespace {

using Parsed = gotit::test::ParsedOptions<gotit::ReactorOptions>;

Parsed parse(std::vector<std::string> args) {
  return gotit::test::parse_options<gotit::ReactorOptions, gotit::ReactorOptionText>(
      std::move(args), gotit::add_reactor_options, gotit::finish_reactor_options);
}

}  // namespace

TEST_CASE("--workers: 1 by default, a number, or auto (0)") {
  CHECK(parse({}).options.workers == 1);
  CHECK(parse({"--workers", "4"}).options.workers == 4);
  CHECK(parse({"--workers", "auto"}).options.workers == 0);
  CHECK(parse({"--workers", "0"}).error.find("workers must be 1..1024 or auto, got '0'") != std::string::npos);
  CHECK(parse({"--workers", "many"}).error.find("workers must be 1..1024 or auto, got 'many'") != std::string::npos);
}

TEST_CASE("worker_count: N as given; auto holds --max-conns, at least one per core") {
  gotit::ReactorOptions options;
  options.workers = 3;
  CHECK(gotit::worker_count(options, 19'936, 2) == 3);
  options.workers = 0;
  CHECK(gotit::worker_count(options, 19'936, 2) == 2);  // no --max-conns: one per core
  options.max_conns = 1'000'000;
  CHECK(gotit::worker_count(options, 19'936, 2) == 51);  // ceil(1,000,000 / 19,936)
  options.max_conns = 19'936;
  CHECK(gotit::worker_count(options, 19'936, 8) == 8);
  options.max_conns = 19'937;
  CHECK(gotit::worker_count(options, 19'936, 1) == 2);
}

TEST_CASE("worker_share: --max-conns is split, the remainder to the first workers, at least 1 each") {
  CHECK(gotit::worker_share(10, 3, 0) == 4);
  CHECK(gotit::worker_share(10, 3, 1) == 3);
  CHECK(gotit::worker_share(10, 3, 2) == 3);
  CHECK(gotit::worker_share(1'000'000, 51, 0) == 19'608);
  CHECK(gotit::worker_share(1'000'000, 51, 50) == 19'607);  // 19,608 x 43 + 19,607 x 8 = 1,000,000
  CHECK(gotit::worker_share(2, 4, 3) == 1);                  // fewer connections than workers
}

TEST_CASE("a master that cannot start leaves its signal handlers as they were") {
  // A port that is taken, asked for as the agent port: the master's
  // constructor throws after it has installed its signal handlers.
  gotit::ListenOptions taken;
  taken.bind_host = "127.0.0.1";
  taken.port = 0;
  const gotit::UniqueFd holder = gotit::listen_tcp(taken);
  gotit::ReactorOptions options;
  options.workers = 2;
  options.server.listen.bind_host = "127.0.0.1";
  options.server.listen.port = 0;
  options.agent_port = gotit::local_port(holder.get());

  const std::array signals{SIGINT, SIGTERM, SIGUSR1, SIGCHLD};
  std::array<struct sigaction, signals.size()> before{}, after{};
  for (std::size_t i = 0; i < signals.size(); ++i) sigaction(signals[i], nullptr, &before[i]);
  CHECK_THROWS_AS(gotit::run_master(options), gotit::SystemError);
  for (std::size_t i = 0; i < signals.size(); ++i) {
    sigaction(signals[i], nullptr, &after[i]);
    CHECK(after[i].sa_handler == before[i].sa_handler);
  }
}

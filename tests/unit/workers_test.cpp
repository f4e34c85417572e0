// --workers: how it parses and how many workers `auto` picks.
#include <string>
#include <utility>
#include <vector>

#include "catch.hpp"
#include "support/parse_options.hpp"
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
  CHECK(parse({"--workers", "0"}).error.find("workers must be 1..1024") != std::string::npos);
  CHECK(parse({"--workers", "many"}).error.find("workers") != std::string::npos);
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

// The reactor's own options on top of the shared server options.
#include <string>
#include <utility>
#include <vector>

#include "catch.hpp"
#include "support/parse_options.hpp"
#include "gotit/reactor/options.hpp"

namespace {

using Parsed = gotit::test::ParsedOptions<gotit::ReactorOptions>;

Parsed parse(std::vector<std::string> args) {
  return gotit::test::parse_options<gotit::ReactorOptions, gotit::ReactorOptionText>(std::move(args), gotit::add_reactor_options, gotit::finish_reactor_options);
}

}  // namespace

TEST_CASE("reactor defaults: auto backend, limits from the file limit, no idle timeout") {
  const Parsed parsed = parse({});
  REQUIRE(parsed.error.empty());
  CHECK(parsed.options.backend == gotit::Backend::automatic);
  CHECK(parsed.options.max_conns == 0);
  CHECK(parsed.options.idle_timeout.count() == 0);
  CHECK(parsed.options.write_timeout == gotit::kSlowReaderTimeout);
  CHECK(parsed.options.reader == gotit::Reader::direct);
  CHECK(parsed.options.output_high_water == 64 * 1024);
  CHECK(parsed.options.stats_interval.count() == 0);
  CHECK(parsed.options.server.listen.port == 3000);
}

TEST_CASE("reactor options are converted") {
  const Parsed parsed = parse({"--backend", "poll", "--max-conns", "2", "--idle-timeout", "5",
                               "--write-timeout", "7", "--output-high-water", "4096",
                               "--stats-interval", "1", "--port", "0", "--reader", "bufferevent"});
  REQUIRE(parsed.error.empty());
  CHECK(parsed.options.backend == gotit::Backend::poll);
  CHECK(parsed.options.max_conns == 2);
  CHECK(parsed.options.idle_timeout.count() == 5);
  CHECK(parsed.options.write_timeout.count() == 7);
  CHECK(parsed.options.output_high_water == 4096);
  CHECK(parsed.options.stats_interval.count() == 1);
  CHECK(parsed.options.server.listen.port == 0);
  CHECK(parsed.options.reader == gotit::Reader::bufferevent);
}

TEST_CASE("an unknown reader is a usage error") {
  const Parsed parsed = parse({"--reader", "splice"});
  CHECK(parsed.error.find("reader must be bufferevent or direct, got 'splice'") != std::string::npos);
}

TEST_CASE("every backend name round-trips") {
  for (const char* name : {"auto", "epoll", "kqueue", "poll", "select"}) {
    const auto backend = gotit::parse_backend(name);
    REQUIRE(backend);
    CHECK(gotit::to_string(*backend) == name);
  }
  CHECK_FALSE(gotit::parse_backend("devpoll"));
}

TEST_CASE("bad reactor options get one clear message") {
  CHECK(parse({"--backend", "iocp"}).error ==
        "backend must be auto, epoll, kqueue, poll or select, got 'iocp'");
  CHECK(parse({"--max-conns", "0"}).error == "max-conns must be 1..16777216, got '0'");
  CHECK(parse({"--idle-timeout", "-1"}).error == "idle-timeout must be 0..86400, got '-1'");
  CHECK(parse({"--write-timeout", "0"}).error == "write-timeout must be 1..86400, got '0'");
  CHECK(parse({"--output-high-water", "10"}).error ==
        "output-high-water must be 1024..1073741824, got '10'");
}

TEST_CASE("the load balancer options: no agent port and no grace unless asked") {
  const Parsed defaults = parse({});
  CHECK_FALSE(defaults.options.agent_port.has_value());
  CHECK(defaults.options.stop_grace.count() == 0);
  const Parsed parsed = parse({"--agent-port", "3001", "--stop-grace", "5"});
  REQUIRE(parsed.error.empty());
  CHECK(parsed.options.agent_port == 3001);
  CHECK(parsed.options.stop_grace.count() == 5);
  CHECK(parse({"--stop-grace", "-1"}).error == "stop-grace must be 0..86400, got '-1'");
  CHECK(parse({"--agent-port", "70000"}).error == "agent-port must be 0..65535, got '70000'");
  CHECK(parse({"--port", "3999", "--agent-port", "3999"}).error.find("the port clients use") != std::string::npos);
}

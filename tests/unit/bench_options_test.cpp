#include <arpa/inet.h>
#include <netinet/in.h>

#include <utility>
#include <vector>

#include "catch.hpp"
#include "support/parse_options.hpp"
#include "gotit/bench/options.hpp"
#include "gotit/bench/socket.hpp"
#include "gotit/common/net.hpp"
#include "gotit/common/server_cli.hpp"

namespace {

using Parsed = gotit::test::ParsedOptions<gotit::RunOptions>;

Parsed parse(std::vector<std::string> args) {
  return gotit::test::parse_options<gotit::RunOptions, gotit::RunOptionText>(std::move(args), gotit::add_run_options, gotit::finish_run_options);
}

std::string address_text(const gotit::SourceAddress& source) {
  char text[INET6_ADDRSTRLEN] = "";
  const auto* v4 = reinterpret_cast<const sockaddr_in*>(&source.address);
  inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
  return text;
}

}  // namespace

TEST_CASE("run defaults: one connection, depth 1, hello, gotit") {
  const auto parsed = parse({});
  CHECK(parsed.error.empty());
  CHECK(parsed.options.port == 3000);
  CHECK(parsed.options.request == "hello\n");
  CHECK(parsed.options.expect == gotit::ExpectKind::gotit);
  CHECK(parsed.options.conns == 1);
  CHECK(parsed.options.depth == 1);
}

TEST_CASE("requests and replies understand escapes") {
  auto parsed = parse({"--request", "PING\\r\\n", "--reply", "+PONG\\r\\n"});
  CHECK(parsed.error.empty());
  CHECK(parsed.options.request == "PING\r\n");
  CHECK(parsed.options.reply == "+PONG\r\n");
  CHECK(parsed.options.expect == gotit::ExpectKind::text);
  parsed = parse({"--request", "version\\r\\n", "--reply-delim", "\\r\\n"});
  CHECK(parsed.options.expect == gotit::ExpectKind::delimited);
  CHECK(parsed.options.reply_delim == "\r\n");
  CHECK(gotit::unescape("a\\x41\\t\\\\") == "aA\t\\");
  CHECK_THROWS_AS(gotit::unescape("\\q"), gotit::UsageError);
  CHECK(gotit::escape("Got it!\r\n") == "Got it!\\r\\n");
}

TEST_CASE("--size makes a line of that many bytes") {
  const auto parsed = parse({"--size", "64", "--expect", "echo"});
  CHECK(parsed.error.empty());
  CHECK(parsed.options.request.size() == 64);
  CHECK(parsed.options.request.back() == '\n');
  CHECK(parsed.options.expect == gotit::ExpectKind::echo);
}

TEST_CASE("bad run options get a clear message") {
  CHECK(parse({"--port", "0"}).error == "port must be 1..65535, got '0'");
  CHECK(parse({"--port", "70000"}).error == "port must be 1..65535, got '70000'");
  CHECK(parse({"--conns", "0"}).error.find("--conns") != std::string::npos);
  CHECK(parse({"--depth", "5000"}).error.find("--depth") != std::string::npos);
  CHECK(parse({"--request", "x", "--size", "3"}).error.find("not both") != std::string::npos);
  CHECK(parse({"--reply", "a", "--reply-delim", "b"}).error.find("not both") != std::string::npos);
  CHECK(parse({"--expect", "nope"}).error.find("--expect") != std::string::npos);
  CHECK(parse({"--reply", "X", "--expect", "echo"}).error.find("give one") != std::string::npos);
  CHECK(parse({"--server-pid", "999999999"}).error == "--server-pid 999999999: no such process");
  CHECK(parse({"--request", "no newline"}).error.find("must end with") != std::string::npos);
  CHECK(parse({"--duration", "-1"}).error.find("--duration") != std::string::npos);
  CHECK(parse({"--source-addrs", "127.0.0.9-127.0.0.1"}).error.find("range") != std::string::npos);
  CHECK(parse({"--source-addrs", "nowhere"}).error.find("not an IP") != std::string::npos);
  CHECK(parse({"--bogus"}).exit_code == 2);
}

TEST_CASE("the connection rate, --interval and --hdr-out options") {
  const auto churn = parse({"--new-connection-per-request", "--close-rst", "-c", "8", "--interval", "0.5",
                            "--hdr-out", "out.hgrm"});
  CHECK(churn.error.empty());
  CHECK(churn.options.new_connection_per_request);
  CHECK(churn.options.close_rst);
  CHECK(churn.options.interval_s == 0.5);
  CHECK(churn.options.hdr_path == "out.hgrm");
  CHECK(parse({"--close-rst"}).error.find("needs --new-connection-per-request") != std::string::npos);
  CHECK(parse({"--new-connection-per-request", "-d", "4"}).error.find("--depth must be 1") != std::string::npos);
  CHECK(parse({"--new-connection-per-request", "--rate", "100"}).error.find("no --rate") != std::string::npos);
  CHECK(parse({"--interval", "0.001"}).error.find("--interval") != std::string::npos);
}

TEST_CASE("--source-addrs takes a range or a list") {
  const auto range = gotit::parse_source_addrs("127.0.0.1-127.0.0.8");
  REQUIRE(range.size() == 8);
  CHECK(address_text(range.front()) == "127.0.0.1");
  CHECK(address_text(range.back()) == "127.0.0.8");
  const auto list = gotit::parse_source_addrs("127.0.0.2,::1");
  REQUIRE(list.size() == 2);
  CHECK(list[1].address.ss_family == AF_INET6);
}

TEST_CASE("the suggested loopback sources parse, and only 127/8 servers get the suggestion") {
  const auto loopback = gotit::parse_source_addrs(gotit::kLoopbackSources);
  REQUIRE(loopback.size() == 8);
  CHECK(address_text(loopback.front()) == "127.0.0.1");
  CHECK(address_text(loopback.back()) == "127.0.0.8");
  CHECK(gotit::is_ipv4_loopback(gotit::resolve_target("127.0.0.1", 3000)));
  CHECK(gotit::is_ipv4_loopback(gotit::resolve_target("127.1.2.3", 3000)));
  CHECK_FALSE(gotit::is_ipv4_loopback(gotit::resolve_target("::1", 3000)));
  CHECK_FALSE(gotit::is_ipv4_loopback(gotit::resolve_target("192.0.2.1", 3000)));
}

TEST_CASE("compare options: defaults and checks") {
  gotit::CompareOptions options;
  gotit::finish_compare_options(options);
  CHECK(options.servers.size() == 5);
  CHECK(options.idle == std::vector<int>{0, 1000, 10000});
  options.depth = {};
  CHECK_THROWS_AS(gotit::finish_compare_options(options), gotit::UsageError);
}

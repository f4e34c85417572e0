#include <netinet/in.h>
#include <sys/socket.h>

#include "catch.hpp"
#include "gotit/common/net.hpp"

using namespace std::chrono_literals;

TEST_CASE("ports parse strictly") {
  CHECK(gotit::parse_port("0") == 0);
  CHECK(gotit::parse_port("3000") == 3000);
  CHECK(gotit::parse_port("65535") == 65535);
  for (const char* bad : {"65536", "99999", "-1", "", "30x", " 3000", "3000 ", "0x10", "+5"}) {
    INFO(bad);
    CHECK_THROWS_AS(gotit::parse_port(bad), gotit::UsageError);
  }
}

TEST_CASE("a bad port names the range and the text") {
  try {
    gotit::parse_port("99999");
    FAIL("no error");
  } catch (const gotit::UsageError& error) {
    CHECK(std::string(error.what()) == "port must be 0..65535, got '99999'");
  }
}

TEST_CASE("system errors name the call and strerror") {
  const gotit::SystemError error("bind [::]:3000", EADDRINUSE);
  CHECK(std::string(error.what()) == "bind [::]:3000: Address already in use");
}

TEST_CASE("port 0 listens on a free port that a client can reach over IPv4 and IPv6") {
  gotit::ListenOptions options;
  options.port = 0;
  const auto listener = gotit::listen_tcp(options);
  const auto port = gotit::local_port(listener.get());
  CHECK(port != 0);
  CHECK(gotit::connect_tcp("127.0.0.1", port, 2s));
  CHECK(gotit::connect_tcp("::1", port, 2s));
}

TEST_CASE("a busy port is reported with the address") {
  gotit::ListenOptions options;
  options.port = 0;
  const auto first = gotit::listen_tcp(options);
  options.port = gotit::local_port(first.get());
  try {
    gotit::listen_tcp(options);
    FAIL("second bind succeeded");
  } catch (const gotit::SystemError& error) {
    CHECK(error.error_number() == EADDRINUSE);
    CHECK(std::string(error.what()) ==
          "bind [::]:" + std::to_string(options.port) + ": Address already in use");
  }
}

TEST_CASE("connect failures are classified") {
  SECTION("refused") {
    gotit::ListenOptions options;
    options.port = 0;
    options.bind_host = "127.0.0.1";
    std::uint16_t port;
    {
      const auto listener = gotit::listen_tcp(options);
      port = gotit::local_port(listener.get());
    }
    try {
      gotit::connect_tcp("127.0.0.1", port, 2s);
      FAIL("connected");
    } catch (const gotit::ConnectError& error) {
      CHECK(error.kind() == gotit::ConnectFailure::refused);
    }
  }
  SECTION("unknown host") {
    try {
      gotit::connect_tcp("no-such-host.invalid", 3000, 2s);
      FAIL("connected");
    } catch (const gotit::ConnectError& error) {
      CHECK(error.kind() == gotit::ConnectFailure::unknown_host);
    }
  }
}

TEST_CASE("UniqueFd closes once and can be released") {
  int fds[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
  {
    gotit::UniqueFd a(fds[0]);
    gotit::UniqueFd moved(std::move(a));
    CHECK_FALSE(a);
    CHECK(moved.get() == fds[0]);
  }
  // fds[0] is closed now: writing to its peer fails with EPIPE.
  CHECK(::send(fds[1], "x", 1, MSG_NOSIGNAL) < 0);
  gotit::UniqueFd b(fds[1]);
  CHECK(b.release() == fds[1]);
  CHECK(::close(fds[1]) == 0);
}

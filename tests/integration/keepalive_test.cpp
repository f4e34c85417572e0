// TCP keepalive, end to end: the servers' accepted sockets carry the options
// (read back from the server's own descriptor), and a peer that vanishes
// without FIN or RST -- its link cut in a network namespace of this test's
// own -- is reaped in time and counted. The last case measures what one
// such peer does to the iterative server: everybody waits until it is reaped.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "catch.hpp"
#include "gotit/common/keepalive.hpp"
#include "gotit/common/net.hpp"
#include "support/client.hpp"
#include "support/eventually.hpp"
#include "support/netns.hpp"
#include "support/process.hpp"
#include "support/server_socket.hpp"

namespace {

using namespace std::chrono_literals;
using gotit::test::ChildProcess;

struct ServerKind {
  const char* name;
  std::string path;
  std::vector<std::string> args;
};

std::vector<ServerKind> every_server() {
  return {{"reactor epoll", GOTIT_GOTIT_REACTOR_BIN, {"--backend", "epoll"}},
          {"reactor --reader bufferevent", GOTIT_GOTIT_REACTOR_BIN, {"--reader", "bufferevent"}},
          {"reactor poll", GOTIT_GOTIT_REACTOR_BIN, {"--backend", "poll"}},
          {"blocking iterative", GOTIT_GOTIT_BLOCKING_BIN, {"--model", "iterative"}},
          {"blocking threads", GOTIT_GOTIT_BLOCKING_BIN, {"--model", "threads"}},
          {"blocking fork", GOTIT_GOTIT_BLOCKING_BIN, {"--model", "fork"}}};
}

std::vector<std::string> plus(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

int int_option(int fd, int level, int name) {
  int value = -1;
  socklen_t length = sizeof value;
  REQUIRE(getsockopt(fd, level, name, &value, &length) == 0);
  return value;
}

// A server of `kind` started with `options`, one client that has exchanged
// a line with it (so it is surely accepted and, in the fork model, forked),
// and a copy of the server's end of that connection.
struct Served {
  Served(const ServerKind& kind, const std::vector<std::string>& options)
      : server(kind.path, plus(plus({"--port", "0"}, options), kind.args)),
        client(server.wait_for_port()),
        socket(exchanged(server, client)) {}

  static gotit::UniqueFd exchanged(ChildProcess& server, gotit::test::TestClient& client) {
    client.send("hello\n");
    CHECK(client.read_line() == "Got it!\n");
    return gotit::test::borrow_server_socket(server.pid(), client.fd());
  }

  ChildProcess server;
  gotit::test::TestClient client;
  gotit::UniqueFd socket;
};

void check_timers(int fd, std::chrono::seconds idle) {
  const gotit::KeepaliveTimers want = gotit::keepalive_timers(idle);
  CHECK(int_option(fd, SOL_SOCKET, SO_KEEPALIVE) == 1);
  CHECK(int_option(fd, IPPROTO_TCP, TCP_KEEPIDLE) == want.idle.count());
  CHECK(int_option(fd, IPPROTO_TCP, TCP_KEEPINTVL) == want.interval.count());
  CHECK(int_option(fd, IPPROTO_TCP, TCP_KEEPCNT) == want.count);
  CHECK(int_option(fd, IPPROTO_TCP, TCP_USER_TIMEOUT) == want.user_timeout.count());
}

}  // namespace

TEST_CASE("the timers derived from --tcp-keepalive") {
  const gotit::KeepaliveTimers standard = gotit::keepalive_timers(300s);
  CHECK(standard.interval == 10s);
  CHECK(standard.count == 6);
  CHECK(standard.user_timeout == 360s);
  const gotit::KeepaliveTimers test = gotit::keepalive_timers(2s);
  CHECK(test.interval == 1s);
  CHECK(test.count == 2);
  CHECK(test.user_timeout == 4s);
  CHECK(gotit::keepalive_timers(0s).count == 0);
  CHECK(gotit::keepalive_timers(32767s).interval == 10s);
}

TEST_CASE("every accepted socket carries the keepalive options of the listener") {
  for (const ServerKind& kind : every_server()) {
    DYNAMIC_SECTION(kind.name) {
      SECTION("by default: 300 s") {
        check_timers(Served(kind, {}).socket.get(), 300s);
      }
      SECTION("--tcp-keepalive 120") {
        check_timers(Served(kind, {"--tcp-keepalive", "120"}).socket.get(), 120s);
      }
      SECTION("--tcp-keepalive 0 turns it off") {
        const Served served(kind, {"--tcp-keepalive", "0"});
        CHECK(int_option(served.socket.get(), SOL_SOCKET, SO_KEEPALIVE) == 0);
        CHECK(int_option(served.socket.get(), IPPROTO_TCP, TCP_USER_TIMEOUT) == 0);
      }
    }
  }
}

namespace {

// "SKIPPED: ..." in the log and a passing test: no namespace, no verdict.
bool skip_without_netns(const gotit::test::NetnsPair& network) {
  if (network.available()) return false;
  WARN("SKIPPED: needs root and ip netns (" << network.why_unavailable() << ")");
  std::printf("SKIPPED: needs root and ip netns\n");
  return true;
}

void exchange(int fd, std::string_view line) {
  gotit::write_all(fd, line);
  char reply[16];
  const ssize_t n = ::recv(fd, reply, sizeof reply, 0);
  REQUIRE(n == 8);
}

// The error text each server logs with -v when the kernel gives up on a peer.
bool logged_reaping(const ChildProcess& server) {
  const std::string log = server.stderr_text();
  return log.find("Connection timed out") != std::string::npos ||
         log.find("No route to host") != std::string::npos;
}

// Keepalive 2 s: probes every 1 s, 2 of them, so the kernel gives up 4 s
// after the peer last spoke. Slack for a loaded machine on top.
constexpr auto kReapWithin = 4s + 4s;

// Takes the client's link down and waits until the server logs (-v) that
// the kernel gave up on the peer; returns how long that took.
std::chrono::duration<double> cut_and_time_reaping(gotit::test::NetnsPair& network,
                                                   const ChildProcess& server) {
  const auto cut = std::chrono::steady_clock::now();
  network.cut_client();
  REQUIRE(gotit::test::eventually([&] { return logged_reaping(server); }, kReapWithin));
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - cut;
  UNSCOPED_INFO("reaped " << took.count() << " s after the cut");
  return took;
}

std::string stop_and_read_summary(ChildProcess& server) {
  server.send_signal(SIGTERM);
  REQUIRE(server.wait());
  return server.stderr_text();
}

}  // namespace

TEST_CASE("a peer that vanishes without FIN or RST is reaped and counted") {
  gotit::test::NetnsPair network;
  if (skip_without_netns(network)) return;
  const std::vector<std::string> base{"--port", "0", "--bind", gotit::test::NetnsPair::kServerAddress,
                                      "--tcp-keepalive", "2", "-v"};
  struct Case {
    const char* name;
    std::string path;
    std::vector<std::string> args;
    const char* counted;  // what the summary line says once the peer is reaped
  };
  const std::vector<Case> cases{
      {"reactor epoll", GOTIT_GOTIT_REACTOR_BIN, {"--backend", "epoll"}, "reaped by keepalive 1"},
      {"reactor --reader bufferevent", GOTIT_GOTIT_REACTOR_BIN, {"--reader", "bufferevent"},
       "reaped by keepalive 1"},
      {"blocking threads", GOTIT_GOTIT_BLOCKING_BIN, {"--model", "threads"}, "1 reaped by keepalive"},
      {"blocking fork", GOTIT_GOTIT_BLOCKING_BIN, {"--model", "fork"}, "1 reaped by keepalive"}};
  for (const Case& each : cases) {
    DYNAMIC_SECTION(each.name << ", idle when it vanished") {
      ChildProcess server(network.ip_path(),
                          network.in_server_namespace(each.path, plus(base, each.args)));
      const std::uint16_t port = server.wait_for_port();
      const gotit::UniqueFd ghost = network.connect_from_client(port);
      exchange(ghost.get(), "still here\n");
      const auto took = cut_and_time_reaping(network, server);
      CHECK(took > 2s);  // not before the idle time: the peer was reaped, not refused
      CHECK(stop_and_read_summary(server).find(each.counted) != std::string::npos);
    }
    // Not idle, so keepalive never starts: TCP_USER_TIMEOUT ends it, after
    // the server's replies (or its zero-window probes) go unacknowledged.
    DYNAMIC_SECTION(each.name << ", its replies unacknowledged when it vanished") {
      ChildProcess server(network.ip_path(),
                          network.in_server_namespace(each.path, plus(base, each.args)));
      const std::uint16_t port = server.wait_for_port();
      const gotit::UniqueFd ghost = network.connect_from_client(port);
      REQUIRE(gotit::test::send_without_reading(ghost.get(), 300ms).stopped);
      cut_and_time_reaping(network, server);
      CHECK(stop_and_read_summary(server).find(each.counted) != std::string::npos);
    }
  }
}

TEST_CASE("one vanished peer blocks the iterative server until it is reaped") {
  gotit::test::NetnsPair network;
  if (skip_without_netns(network)) return;
  ChildProcess server(network.ip_path(),
                      network.in_server_namespace(
                          GOTIT_GOTIT_BLOCKING_BIN,
                          {"--port", "0", "--bind", gotit::test::NetnsPair::kServerAddress,
                           "--tcp-keepalive", "2", "--model", "iterative"}));
  const std::uint16_t port = server.wait_for_port();
  const gotit::UniqueFd ghost = network.connect_from_client(port);
  exchange(ghost.get(), "still here\n");
  network.cut_client();
  const auto cut = std::chrono::steady_clock::now();
  // A well-behaved neighbour connects at once; it is queued behind the ghost.
  const gotit::UniqueFd neighbour = network.connect_from_server_side(port);
  exchange(neighbour.get(), "me too\n");  // blocks until the ghost is reaped
  const auto waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - cut);
  std::printf("iterative: the neighbour's first reply came %.2f s after the ghost vanished\n",
              waited.count());
  CHECK(waited > 2s);
  CHECK(waited < kReapWithin);
  server.send_signal(SIGTERM);
  REQUIRE(server.wait());
  CHECK(server.stderr_text().find("1 reaped by keepalive") != std::string::npos);
}

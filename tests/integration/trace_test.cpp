// --trace on both servers: one client session ("hel", then "lo\n", then a
// half-close) leaves its events in stderr, in order, in the shared
// vocabulary of common/trace.hpp, each line naming the connection. Only the
// order of distinct events is checked: the client waits for the server to
// report the first read before it sends the rest, so the two reads cannot
// merge, but wake-ups and EAGAINs may come and go with the kernel's timing.
#include <signal.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "catch.hpp"
#include "support/client.hpp"
#include "support/eventually.hpp"
#include "support/process.hpp"

namespace {

using namespace std::chrono_literals;
using gotit::test::ChildProcess;
using gotit::test::TestClient;
using gotit::test::eventually;

struct Setup {
  std::string program;
  std::vector<std::string> args;
  std::string read_3;  // how this server reports reading "hel"
  std::string eof;     // ... and the client's half-close
};

std::vector<std::string> trace_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("trace ", 0) == 0) lines.push_back(line);
  }
  return lines;
}

// Index of the first line at or after `from` that contains `text`; lines.size() if none.
std::size_t find_from(const std::vector<std::string>& lines, std::size_t from,
                      const std::string& text) {
  while (from < lines.size() && lines[from].find(text) == std::string::npos) ++from;
  return from;
}

std::string run_one_session(const Setup& setup) {
  std::vector<std::string> args = setup.args;
  args.insert(args.end(), {"--port", "0", "--bind", "127.0.0.1", "--trace"});
  ChildProcess server(setup.program, args);
  const std::uint16_t port = server.wait_for_port();
  {
    TestClient client(port);
    client.send("hel");
    REQUIRE(eventually([&] { return server.stderr_text().find(setup.read_3) != std::string::npos; }));
    client.send("lo\n");
    CHECK(client.read_line() == "Got it!\n");
    client.shutdown_write();
    CHECK(client.read_until_close().empty());
  }
  REQUIRE(eventually([&] {
    const auto lines = trace_lines(server.stderr_text());
    return !lines.empty() && lines.back().find(" close") != std::string::npos;
  }));
  server.send_signal(SIGTERM);
  REQUIRE(server.wait());
  return server.stderr_text();
}

}  // namespace

TEST_CASE("--trace: one session's events, in order, on every server") {
  const std::string reactor = GOTIT_GOTIT_REACTOR_BIN;
  const std::string blocking = GOTIT_GOTIT_BLOCKING_BIN;
  const std::string recv_eof = "recv 0 (peer half-closed)";
  const std::string read_eof = "read 0 (peer half-closed)";
  const Setup setup = GENERATE_COPY(
      Setup{reactor, {"--reader", "direct"}, "recv 3 bytes", recv_eof},
      Setup{reactor, {"--reader", "bufferevent"}, "wake input (libevent read 3 bytes)",
            "wake EOF (libevent's recv returned 0)"},
      Setup{blocking, {"--model", "iterative"}, "read 3 bytes", read_eof},
      Setup{blocking, {"--model", "threads"}, "read 3 bytes", read_eof},
      Setup{blocking, {"--model", "fork"}, "read 3 bytes", read_eof});
  INFO(setup.program << " " << setup.args[0] << " " << setup.args[1]);
  const std::string err = run_one_session(setup);
  INFO(err);
  const auto lines = trace_lines(err);
  REQUIRE(!lines.empty());

  // Every line names the one connection: its number and its socket.
  const std::string who = lines.front().substr(0, lines.front().find(" accept"));
  CHECK(who.rfind("trace #1 fd ", 0) == 0);
  for (const auto& line : lines) CHECK(line.rfind(who + " ", 0) == 0);

  const std::vector<std::string> expected = {
      "accept from 127.0.0.1:",
      setup.read_3,
      setup.read_3,
      "framed \"hello\" (5 bytes)",
      "send 8 of 8 bytes",
      setup.eof,
      "state reading -> flushing_to_close",
      "close",
  };
  std::size_t at = 0;
  for (const auto& event : expected) {
    INFO("expected next: " << event);
    at = find_from(lines, at, event);
    REQUIRE(at < lines.size());
    ++at;
  }
  // Nothing is framed but the one message.
  CHECK(std::count_if(lines.begin(), lines.end(), [](const std::string& line) {
          return line.find(" framed ") != std::string::npos;
        }) == 1);
}

TEST_CASE("without --trace nothing is traced") {
  for (const std::string program : {GOTIT_GOTIT_REACTOR_BIN, GOTIT_GOTIT_BLOCKING_BIN}) {
    ChildProcess server(program, {"--port", "0", "--bind", "127.0.0.1", "-vv"});
    const std::uint16_t port = server.wait_for_port();
    {
      TestClient client(port);
      client.send("hello\n");
      CHECK(client.read_line() == "Got it!\n");
    }
    server.send_signal(SIGTERM);
    REQUIRE(server.wait());
    CHECK(server.stderr_text().find("trace ") == std::string::npos);
  }
}

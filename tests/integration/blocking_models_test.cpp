// What only gotit-blocking's models promise, beyond the shared behaviour
// suite: forked children are reaped (no zombies), the stop summary counts
// every model's work, -v logs connections.
#include <dirent.h>
#include <signal.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "catch.hpp"
#include "support/client.hpp"
#include "support/process.hpp"

namespace {

using namespace std::chrono_literals;
using gotit::test::ChildProcess;
using gotit::test::TestClient;

// The children of `parent` as (pid, state) from /proc, e.g. state 'Z'.
std::vector<std::pair<int, char>> children_of(pid_t parent) {
  std::vector<std::pair<int, char>> children;
  DIR* proc = ::opendir("/proc");
  if (!proc) return children;
  while (const dirent* entry = ::readdir(proc)) {
    const int pid = std::atoi(entry->d_name);
    if (pid <= 0) continue;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), {});
    const auto close_paren = text.rfind(')');  // the command name may hold spaces
    if (close_paren == std::string::npos) continue;
    std::istringstream rest(text.substr(close_paren + 1));
    char state = 0;
    int ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent) children.emplace_back(pid, state);
  }
  ::closedir(proc);
  return children;
}

std::string stop_and_read_stderr(ChildProcess& server) {
  server.send_signal(SIGTERM);
  const auto status = server.wait(10s);
  REQUIRE(status);
  CHECK(status->code == 0);
  return server.stderr_text();
}

}  // namespace

TEST_CASE("fork: children are reaped, no zombies") {
  ChildProcess server(GOTIT_GOTIT_BLOCKING_BIN, {"--port", "0", "--model", "fork"});
  const auto port = server.wait_for_port();
  for (int i = 0; i < 5; ++i) {
    TestClient client(port);
    client.send("hello\n");
    CHECK(client.read_line() == "Got it!\n");
  }  // each client leaves: its child exits
  bool none_left = false;
  for (int i = 0; i < 100 && !none_left; ++i) {  // reaped within the reap interval (1 s)
    none_left = children_of(server.pid()).empty();
    if (!none_left) std::this_thread::sleep_for(50ms);
  }
  CHECK(none_left);
  CHECK(stop_and_read_stderr(server).find("stopped: 5 connections, 5 messages, 30 bytes in, 40 bytes out") !=
        std::string::npos);
}

TEST_CASE("the summary counts connections, messages and bytes in every model") {
  for (const char* model : {"iterative", "threads", "fork"}) {
    INFO("model " << model);
    ChildProcess server(GOTIT_GOTIT_BLOCKING_BIN, {"--port", "0", "--model", model, "--reply", "echo"});
    const auto port = server.wait_for_port();
    for (int i = 0; i < 2; ++i) {
      TestClient client(port);
      client.send("abc\r\nde\n");
      CHECK(client.read_lines(2) == std::vector<std::string>{"abc\n", "de\n"});
    }
    CHECK(stop_and_read_stderr(server).find("stopped: 2 connections, 4 messages, 16 bytes in, 14 bytes out") !=
          std::string::npos);
  }
}

TEST_CASE("-v logs each connection and why it closed") {
  ChildProcess server(GOTIT_GOTIT_BLOCKING_BIN, {"--port", "0", "--model", "threads", "-v"});
  const auto port = server.wait_for_port();
  {
    TestClient client(port);
    client.send(std::string(300, 'x') + "\n");
    CHECK(client.closed_by_server());
  }
  const std::string err = stop_and_read_stderr(server);
  CHECK(err.find("connection from [::ffff:127.0.0.1]:") != std::string::npos);
  CHECK(err.find(": line longer than 255 bytes") != std::string::npos);
  CHECK(err.find("Here is the message") == std::string::npos);  // that is -vv
}

// gotit-reactor --workers: the master and its workers as programs. Two
// workers on port 0 share the load, a killed worker is replaced while its
// sibling's connections live on, and a SIGTERM stops them all gracefully.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <dirent.h>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "catch.hpp"
#include "gotit/common/net.hpp"
#include "support/client.hpp"
#include "support/eventually.hpp"
#include "support/process.hpp"

namespace {

using namespace std::chrono_literals;
using gotit::test::ChildProcess;
using gotit::test::TestClient;
using gotit::test::eventually;

const std::string kReactor = GOTIT_GOTIT_REACTOR_BIN;

std::vector<std::string> workers_args(const std::string& count) {
  return {"--workers", count, "--port", "0", "--bind", "127.0.0.1"};
}

std::string read_file(const std::string& path) {
  std::ifstream file(path);
  return std::string((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

// Live (not zombie) direct children of `parent`, from /proc/N/stat.
std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> found;
  std::unique_ptr<DIR, int (*)(DIR*)> proc(opendir("/proc"), closedir);
  REQUIRE(proc);
  while (const dirent* entry = readdir(proc.get())) {
    const long pid = std::atol(entry->d_name);
    if (pid <= 0) continue;
    const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    const std::size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(stat.substr(close + 2));
    std::string state;
    long ppid = 0;
    if (fields >> state >> ppid && ppid == parent && state != "Z") found.push_back(static_cast<pid_t>(pid));
  }
  return found;
}

// Sockets a process holds: its connections plus its listening socket.
int sockets_of(pid_t pid) {
  int sockets = 0;
  const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  std::unique_ptr<DIR, int (*)(DIR*)> fds(opendir(dir.c_str()), closedir);
  if (!fds) return -1;
  char target[64];
  while (const dirent* entry = readdir(fds.get())) {
    const std::string link = dir + "/" + entry->d_name;
    const ssize_t n = readlink(link.c_str(), target, sizeof target);
    if (n > 7 && std::string(target, 7) == "socket:") ++sockets;
  }
  return sockets;
}

bool gone(pid_t pid) {
  const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  return stat.empty() || stat.find(") Z ") != std::string::npos;
}

// `count` clients, each answered once: all are in a worker's hands.
std::vector<std::unique_ptr<TestClient>> connect_clients(std::uint16_t port, int count) {
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < count; ++i) {
    clients.push_back(std::make_unique<TestClient>(port));
    clients.back()->send("hello\n");
  }
  for (auto& client : clients) REQUIRE(client->read_line() == "Got it!\n");
  return clients;
}

std::vector<pid_t> wait_for_workers(pid_t master, std::size_t count) {
  std::vector<pid_t> workers;
  REQUIRE(eventually([&] { return (workers = children_of(master)).size() == count; }, 5s));
  return workers;
}

}  // namespace

TEST_CASE("two workers on port 0 answer 200 clients, and both get some") {
  ChildProcess master(kReactor, workers_args("2"));
  const std::uint16_t port = master.wait_for_port();
  const auto workers = wait_for_workers(master.pid(), 2);
  auto clients = connect_clients(port, 200);
  // Each worker: its listening socket plus its share of the 200 (the kernel
  // hashes each connection to one worker; all 200 on one is 2^-199 likely).
  const int first = sockets_of(workers[0]) - 1, second = sockets_of(workers[1]) - 1;
  CHECK(first + second == 200);
  CHECK(first > 0);
  CHECK(second > 0);
  for (auto& client : clients) {
    client->send("again\n");
    REQUIRE(client->read_line() == "Got it!\n");
  }
}

TEST_CASE("a killed worker is replaced; its sibling's connections live on") {
  ChildProcess master(kReactor, workers_args("2"));
  const std::uint16_t port = master.wait_for_port();
  const auto workers = wait_for_workers(master.pid(), 2);
  auto clients = connect_clients(port, 100);
  const pid_t victim = workers[0];
  const int victims_peers = sockets_of(victim) - 1;
  REQUIRE(victims_peers > 0);

  REQUIRE(::kill(victim, SIGKILL) == 0);
  const auto killed_at = std::chrono::steady_clock::now();
  // Its peers see their connections end; the others still get answers.
  int ended = 0;
  for (auto& client : clients) {
    client->send("still there?\n");
    std::string reply;
    try {
      reply = client->read_line(5s);
    } catch (const std::exception&) {
      ++ended;  // closed or reset by the kernel when the worker died
      continue;
    }
    CHECK(reply == "Got it!\n");
  }
  CHECK(ended == victims_peers);

  // A new worker within a second, and it answers new clients.
  std::vector<pid_t> now;
  REQUIRE(eventually([&] {
    now = children_of(master.pid());
    return now.size() == 2 && now[0] != victim && now[1] != victim &&
           sockets_of(now[0]) >= 1 && sockets_of(now[1]) >= 1;
  }, 1s));
  const pid_t replacement = now[0] == workers[1] ? now[1] : now[0];
  auto fresh = connect_clients(port, 60);
  CHECK(std::chrono::steady_clock::now() - killed_at < 5s);
  CHECK(sockets_of(replacement) > 1);  // it took some of the 60
  CHECK(master.stderr_text().find("killed by signal 9") != std::string::npos);
}

TEST_CASE("SIGTERM to the master: every client gets its replies and a FIN, master exits 0") {
  ChildProcess master(kReactor, workers_args("2"));
  const std::uint16_t port = master.wait_for_port();
  const auto workers = wait_for_workers(master.pid(), 2);
  auto clients = connect_clients(port, 50);
  for (auto& client : clients) client->send("one\ntwo\n");
  for (auto& client : clients) REQUIRE(client->read_lines(2) == std::vector<std::string>{"Got it!\n", "Got it!\n"});
  master.send_signal(SIGTERM);
  for (auto& client : clients) CHECK(client->read_until_close(10s).empty());  // FIN, not RST
  const auto status = master.wait(20s);
  REQUIRE(status);
  CHECK(status->code == 0);
  for (const pid_t worker : workers) CHECK(gone(worker));
  CHECK(master.stderr_text().find("stopped: accepted 50,") != std::string::npos);
}

// The master samples the total every 100 ms; a connection that comes and
// goes between two samples still shows in the peak, by its worker's own.
TEST_CASE("the summary's peak counts a connection shorter than the master's tick") {
  ChildProcess master(kReactor, workers_args("2"));
  const std::uint16_t port = master.wait_for_port();
  wait_for_workers(master.pid(), 2);
  {
    TestClient client(port);
    client.send("brief\n");
    REQUIRE(client.read_line() == "Got it!\n");
  }
  master.send_signal(SIGTERM);
  const auto status = master.wait(20s);
  REQUIRE(status);
  INFO(master.stderr_text());
  CHECK(master.stderr_text().find("peak connections 1,") != std::string::npos);
}

TEST_CASE("no orphans: workers stop when the master is killed") {
  ChildProcess master(kReactor, workers_args("2"));
  master.wait_for_port();
  const auto workers = wait_for_workers(master.pid(), 2);
  master.send_signal(SIGKILL);
  REQUIRE(master.wait(5s));
  for (const pid_t worker : workers) CHECK(eventually([&] { return gone(worker); }, 5s));
}

TEST_CASE("--workers auto runs at least one worker per core") {
  ChildProcess master(kReactor, workers_args("auto"));
  master.wait_for_port();
  const auto cores = static_cast<std::size_t>(sysconf(_SC_NPROCESSORS_ONLN));
  CHECK(wait_for_workers(master.pid(), std::max<std::size_t>(cores, 1)).size() >= 1);
  master.send_signal(SIGTERM);
  const auto status = master.wait(10s);
  REQUIRE(status);
  CHECK(status->code == 0);
}

TEST_CASE("a backend missing here is one usage error before any worker starts") {
  auto args = workers_args("2");
  args.insert(args.end(), {"--backend", "kqueue"});  // BSD and macOS only
  const auto run = gotit::test::run_program(kReactor, args, std::nullopt, 10s);
  INFO(run.err);
  CHECK(run.status.code == 2);
  CHECK(run.err.find("backend kqueue is not available here") != std::string::npos);
  CHECK(run.err.find("worker") == std::string::npos);
}

// full_listener.cpp: a worker at its share of --max-conns closes its
// listening socket, so the kernel sends new clients to the other; when every
// worker is full, connecting is refused; once peers leave, each worker
// listens again (checked as peers close: nothing polls for it).
TEST_CASE("full workers step out of the port and come back when their peers leave") {
  auto args = workers_args("2");
  args.insert(args.end(), {"--max-conns", "20"});
  ChildProcess master(kReactor, args);
  const std::uint16_t port = master.wait_for_port();
  const auto workers = wait_for_workers(master.pid(), 2);
  // One client at a time: a worker that fills up drops new SYNs on its
  // listener before the client that filled it has its reply, so no later
  // handshake begins on that socket and is reset when it closes
  // (full_listener.cpp); a client whose SYN it drops tries again a second
  // later and finds a worker that listens, or none.
  std::vector<std::unique_ptr<TestClient>> held;
  bool refused = false;
  for (int i = 0; i < 100; ++i) {
    try {
      held.push_back(std::make_unique<TestClient>(port));
    } catch (const gotit::ConnectError& failure) {
      INFO(failure.what());
      REQUIRE(failure.kind() == gotit::ConnectFailure::refused);  // no worker listens
      refused = true;
      break;
    }
    held.back()->send("hello\n");
    REQUIRE(held.back()->read_line() == "Got it!\n");
  }
  REQUIRE(refused);
  CHECK(held.size() >= 20);  // 10 each, and a full worker still takes what it had queued
  // Neither worker holds a listening socket now: only its peers.
  CHECK(sockets_of(workers[0]) + sockets_of(workers[1]) == static_cast<int>(held.size()));
  held.clear();
  for (const pid_t worker : workers) {
    CHECK(eventually([&] { return sockets_of(worker) == 1; }, 5s));  // listening again, no peers
  }
  // One worker's share, connected all at once: however the kernel hashes
  // them, no worker fills up, so no listener closes under them.
  auto again = connect_clients(port, 10);
  CHECK(again.size() == 10);
}

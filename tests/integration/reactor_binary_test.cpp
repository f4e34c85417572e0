// gotit-reactor as a program: the backend it reports, the protocol on each
// backend, the overload policies (connection cap, EMFILE) and the signals.
#include <poll.h>
#include <sys/socket.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fmt/format.h>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "support/eventually.hpp"
#include "support/client.hpp"
#include "support/process.hpp"

namespace {

using namespace std::chrono_literals;
using gotit::test::ChildProcess;
using gotit::test::TestClient;
using gotit::test::eventually;
using gotit::test::repeat;
using gotit::test::send_without_reading;

const std::string kReactor = GOTIT_GOTIT_REACTOR_BIN;

std::vector<std::string> with_defaults(std::vector<std::string> args) {
  args.insert(args.end(), {"--port", "0", "--bind", "127.0.0.1"});
  return args;
}

// Against --max-conns 1: a client that holds the one place, answered.
TestClient take_the_only_place(std::uint16_t port) {
  TestClient client(port);
  client.send("a\n");
  REQUIRE(client.read_line() == "Got it!\n");
  return client;
}

bool stderr_says(const ChildProcess& server, const std::string& text,
                 std::chrono::milliseconds timeout = 5s) {
  return eventually([&] { return server.stderr_text().find(text) != std::string::npos; }, timeout);
}

// True if `fd` has something to read (or EOF) within `timeout`.
bool readable_within(int fd, std::chrono::milliseconds timeout) {
  pollfd waiting{fd, POLLIN, 0};
  return ::poll(&waiting, 1, static_cast<int>(timeout.count())) > 0;
}

// utime + stime of a process, in clock ticks (/proc/PID/stat fields 14, 15).
long cpu_ticks(pid_t pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  std::istringstream fields(text.substr(text.rfind(')') + 2));  // after "(comm) "
  std::string skip;
  for (int field = 3; field < 14; ++field) fields >> skip;
  long utime = 0, stime = 0;
  fields >> utime >> stime;
  return utime + stime;
}

// The protocol, briefly, on whatever backend `port` runs.
void check_protocol(std::uint16_t port) {
  {
    TestClient client(port);
    client.send(repeat("hello\n", 10'000));  // one write
    const auto lines = client.read_lines(10'000);
    CHECK(lines == std::vector<std::string>(10'000, "Got it!\n"));
  }
  {
    TestClient client(port);
    client.send(std::string(256, 'x') + "\n");
    CHECK(client.read_until_close() == "Error: message longer than 255 bytes\n");
  }
  {
    TestClient client(port);
    client.send("one\ntwo\nremainder");
    client.shutdown_write();
    CHECK(client.read_until_close() == "Got it!\nGot it!\nGot it!\n");
  }
  {
    TestClient client(port);
    for (char byte : std::string("byte by byte\r\n")) client.send(std::string_view(&byte, 1));
    CHECK(client.read_line() == "Got it!\n");
  }
}

void stop_gracefully(ChildProcess& server) {
  server.send_signal(SIGTERM);
  const auto status = server.wait();
  REQUIRE(status);
  CHECK(status->code == 0);
  CHECK(server.stderr_text().find("stopped: accepted") != std::string::npos);
}

}  // namespace

TEST_CASE("the backend asked for is the one in use, and speaks the protocol") {
  for (const std::string backend : {"epoll", "poll", "select"}) {
    INFO("backend " << backend);
    ChildProcess server(kReactor, with_defaults({"--backend", backend}));
    const auto port = server.wait_for_port();
    CHECK(stderr_says(server, "backend " + backend + ", reader "));
    check_protocol(port);
    if (backend == "select") CHECK(stderr_says(server, "connections capped at 960"));
    stop_gracefully(server);
  }
}

TEST_CASE("the start-up line names the reader in effect") {
  for (const std::string reader : {"bufferevent", "direct"}) {
    INFO("reader " << reader);
    ChildProcess server(kReactor, with_defaults({"--reader", reader}));
    const auto port = server.wait_for_port();
    // On this libevent (2.1.x, as Debian 12's) direct is never refused.
    CHECK(stderr_says(server, "reader " + reader + "\n"));
    check_protocol(port);
    stop_gracefully(server);
  }
}

TEST_CASE("a backend this system lacks is a usage error") {
  const auto result = gotit::test::run_program(kReactor, {"--backend", "kqueue", "--port", "0"});
  CHECK(result.status.code == 2);
  CHECK(result.err.find("backend kqueue is not available here") != std::string::npos);
}

TEST_CASE("echo mode returns binary bytes as sent") {
  ChildProcess server(kReactor, with_defaults({"--reply", "echo"}));
  TestClient client(server.wait_for_port());
  std::string binary;
  for (int byte = 0; byte < 256; ++byte) {
    if (byte != '\n' && byte != '\r') binary.push_back(static_cast<char>(byte));
  }
  client.send(binary + "\n");
  CHECK(client.read_line() == binary + "\n");
}

TEST_CASE("1,000 concurrent clients are all answered") {
  for (const std::string backend : {"epoll", "poll"}) {
    INFO("backend " << backend);
    ChildProcess server(kReactor, with_defaults({"--backend", backend}));
    const auto port = server.wait_for_port();
    std::vector<std::unique_ptr<TestClient>> clients;
    for (int i = 0; i < 1000; ++i) clients.push_back(std::make_unique<TestClient>(port));
    for (auto& client : clients) client->send("hello\n");
    int answered = 0;
    for (auto& client : clients) answered += client->read_line() == "Got it!\n";
    CHECK(answered == 1000);
    clients.clear();
    stop_gracefully(server);
    CHECK(server.stderr_text().find("peak connections 1000") != std::string::npos);
  }
}

TEST_CASE("over --max-conns a third client is told the server is full") {
  ChildProcess server(kReactor, with_defaults({"--max-conns", "2"}));
  const auto port = server.wait_for_port();
  CHECK(stderr_says(server, "up to 2 connections"));
  TestClient first(port);
  TestClient second(port);
  first.send("a\n");
  second.send("b\n");
  CHECK(first.read_line() == "Got it!\n");
  CHECK(second.read_line() == "Got it!\n");
  TestClient third(port);
  CHECK(third.read_line() == "Error: server full\n");
  CHECK(third.closed_by_server());
  first.close();  // else the stop waits for them (--shutdown-timeout)
  second.close();
  stop_gracefully(server);
  CHECK(server.stderr_text().find("rejected 1 (server full)") != std::string::npos);
}

TEST_CASE("gotit-bench against a full server says the server turned it away, not that it cannot connect") {
  ChildProcess server(kReactor, with_defaults({"--max-conns", "1"}));
  const auto port = server.wait_for_port();
  const auto run = gotit::test::run_program(GOTIT_GOTIT_BENCH_BIN,
                                            {"run", "--port", std::to_string(port), "--idle", "1", "--duration",
                                             "0.1", "--warmup", "0", "--no-progress"});
  CHECK(run.status.code == 1);
  CHECK(run.err.find(fmt::format("127.0.0.1:{} accepted every active connection, then: expected \"Got it!\\n\" "
                                 "at byte 0 of reply 0, got \"Error: server full\\n\"",
                                 port)) != std::string::npos);
  CHECK(run.err.find("cannot connect") == std::string::npos);
  stop_gracefully(server);
}

TEST_CASE("gotit-client against a full server says so and exits 5, not 0 with the line as a reply") {
  ChildProcess server(kReactor, with_defaults({"--max-conns", "1"}));
  const auto port = server.wait_for_port();
  TestClient holder = take_the_only_place(port);
  const auto run = gotit::test::run_program(GOTIT_GOTIT_CLIENT_BIN,
                                            {"127.0.0.1", std::to_string(port), "-m", "hi"});
  CHECK(run.status.code == 5);
  CHECK(run.out.empty());
  CHECK(run.err == "gotit-client: error: the server said \"Error: server full\" and closed the connection\n");
  holder.close();
  stop_gracefully(server);
}

TEST_CASE("a client turned away with a request already sent gets the line and FIN, not a reset") {
  ChildProcess server(kReactor, with_defaults({"--max-conns", "1"}));
  const auto port = server.wait_for_port();
  TestClient first = take_the_only_place(port);
  // Stopped, the server accepts only once the request has arrived.
  server.send_signal(SIGSTOP);
  TestClient turned_away(port);
  turned_away.send("b\n");
  server.send_signal(SIGCONT);
  CHECK(turned_away.read_line() == "Error: server full\n");
  CHECK(turned_away.read_until_close().empty());  // throws on a reset
  first.close();
  stop_gracefully(server);
}

TEST_CASE("out of descriptors, the listener pauses without spinning and resumes") {
  // A file limit of 32 (soft and hard), so the server cannot raise it, and a
  // --max-conns it cannot reach: accept() will fail with EMFILE.
  ChildProcess server("/bin/sh", {"-c", "ulimit -n 32 && exec \"$0\" \"$@\"", kReactor,
                                  "--port", "0", "--bind", "127.0.0.1", "--max-conns", "100"});
  const auto port = server.wait_for_port();
  std::vector<std::unique_ptr<TestClient>> served;
  std::vector<std::unique_ptr<TestClient>> waiting;
  for (int i = 0; i < 40 && waiting.empty(); ++i) {
    auto client = std::make_unique<TestClient>(port);  // the kernel queues it
    client->send("hello\n");
    if (readable_within(client->fd(), 1s)) {
      REQUIRE(client->read_line() == "Got it!\n");
      served.push_back(std::move(client));
    } else {
      waiting.push_back(std::move(client));
    }
  }
  REQUIRE(waiting.size() == 1);
  INFO("served before EMFILE: " << served.size());
  REQUIRE(served.size() >= 10);
  for (int i = 0; i < 2; ++i) {
    waiting.push_back(std::make_unique<TestClient>(port));
    waiting.back()->send("hello\n");
  }
  REQUIRE(stderr_says(server, "accept: Too many open files; pausing the listener"));

  // Paused, not spinning: well under a third of a CPU over one second.
  const long before = cpu_ticks(server.pid());
  std::this_thread::sleep_for(1s);
  const long used = cpu_ticks(server.pid()) - before;
  CHECK(used < sysconf(_SC_CLK_TCK) / 3);

  // Clients leave; the waiting ones are accepted and answered.
  for (int i = 0; i < 3; ++i) served.pop_back();
  for (auto& client : waiting) CHECK(client->read_line() == "Got it!\n");
  CHECK(stderr_says(server, "accepting again"));
  // Logged once per episode, not once per 100 ms retry. (Taking the last
  // free descriptor may start a new episode: Linux's accept() reserves a
  // descriptor before it looks at the queue.)
  const std::string log = server.stderr_text();
  const auto first_pause = log.find("pausing the listener");
  CHECK(log.find("pausing the listener", first_pause + 1) > log.find("accepting again"));
  server.send_signal(SIGUSR1);
  CHECK(stderr_says(server, "accept pauses "));
  CHECK(server.stderr_text().find("accept pauses 0") == std::string::npos);
}

TEST_CASE("SIGTERM delivers every reply to complete messages, then exits 0") {
  ChildProcess server(kReactor, with_defaults({}));
  const auto port = server.wait_for_port();
  TestClient client(port);
  TestClient idle(port);
  client.send("first\n");
  REQUIRE(client.read_line() == "Got it!\n");
  client.send(repeat("hello\n", 2000) + "no newline yet");
  std::this_thread::sleep_for(100ms);
  server.send_signal(SIGTERM);
  CHECK(client.read_until_close() == repeat("Got it!\n", 2000));  // EOF, not a reset
  CHECK(idle.read_until_close().empty());
  client.close();  // the server waits for our close after its FIN
  idle.close();
  const auto status = server.wait();
  REQUIRE(status);
  CHECK(status->code == 0);
  const std::string log = server.stderr_text();
  CHECK(log.find("SIGTERM: stopping") != std::string::npos);
  CHECK(log.find("stopped: accepted 2, rejected 0 (server full), messages 2001") !=
        std::string::npos);
}

TEST_CASE("its help says what the signals do and what the exit codes mean") {
  const auto help = gotit::test::run_program(kReactor, {"--help"});
  CHECK(help.status.code == 0);
  CHECK(help.out.find("SIGUSR1 prints the") != std::string::npos);
  CHECK(help.out.find("Exit codes: 0 stopped cleanly, 1 runtime error or a stop cut short, 2 usage error") !=
        std::string::npos);
  CHECK(help.out.find("--workers N|auto") != std::string::npos);
}

TEST_CASE("a second signal stops at once, even with a peer that never reads") {
  ChildProcess server(kReactor, with_defaults({"--output-high-water", "4096"}));
  const auto port = server.wait_for_port();
  TestClient greedy(port);
  REQUIRE(send_without_reading(greedy.fd(), 300ms).stopped);
  server.send_signal(SIGUSR1);
  REQUIRE(stderr_says(server, "slow-reader throttles 1"));
  server.send_signal(SIGINT);
  REQUIRE(stderr_says(server, "SIGINT: stopping"));
  CHECK_FALSE(server.wait(300ms));  // still flushing to a peer that does not read
  server.send_signal(SIGINT);
  const auto status = server.wait();
  REQUIRE(status);
  CHECK(status->code == 1);
  CHECK(server.stderr_text().find("SIGINT again: stopping at once") != std::string::npos);
}

TEST_CASE("SIGUSR1 prints the counters; --stats-interval prints rates") {
  ChildProcess server(kReactor, with_defaults({"--stats-interval", "1"}));
  TestClient client(server.wait_for_port());
  client.send("a\nb\nc\n");
  CHECK(client.read_lines(3).size() == 3);
  server.send_signal(SIGUSR1);
  CHECK(stderr_says(server, "accepted 1, rejected 0 (server full), messages 3,"));
  CHECK(stderr_says(server, "stats: 1 open,", 5s));
  client.close();  // else the stop waits for it (--shutdown-timeout, as long as wait())
  stop_gracefully(server);
}

TEST_CASE("quiet by default; -v logs connections, -vv every message") {
  {
    ChildProcess server(kReactor, with_defaults({}));
    TestClient client(server.wait_for_port());
    client.send("hello\n");
    CHECK(client.read_line() == "Got it!\n");
    client.close();  // else the stop waits for it (--shutdown-timeout)
    stop_gracefully(server);
    CHECK(server.stderr_text().find("accepted 127.0.0.1") == std::string::npos);
    CHECK(server.stderr_text().find("Here is the message") == std::string::npos);
  }
  {
    ChildProcess server(kReactor, with_defaults({"-vv"}));
    TestClient client(server.wait_for_port());
    client.send("hello\n");
    CHECK(client.read_line() == "Got it!\n");
    CHECK(stderr_says(server, "Here is the message: hello\n"));
    CHECK(stderr_says(server, "accepted 127.0.0.1:"));
  }
}

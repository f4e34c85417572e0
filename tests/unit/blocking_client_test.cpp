// The blocking client library and gotit-client: every failure classified,
// and each class its own exit code. The servers here are fakes that
// misbehave on purpose, on 127.0.0.1 port 0.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <future>
#include <optional>
#include <sstream>
#include <thread>

#include "catch.hpp"
#include "gotit/client/client.hpp"
#include "gotit/client/modes.hpp"
#include "support/process.hpp"

namespace {

using namespace std::chrono_literals;
using gotit::ClientFailure;
using gotit::test::run_program;

gotit::UniqueFd listen_locally() {
  gotit::ListenOptions options;
  options.bind_host = "127.0.0.1";
  options.port = 0;
  options.backlog = 16;
  return gotit::listen_tcp(options);
}

// Reads from `fd` until `bytes` newlines came (or 5 s passed).
void read_lines(int fd, int lines) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  char buffer[4096];
  while (lines > 0 && std::chrono::steady_clock::now() < deadline) {
    pollfd waiting{fd, POLLIN, 0};
    if (::poll(&waiting, 1, 100) <= 0) continue;
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) return;
    for (ssize_t i = 0; i < n; ++i) lines -= buffer[i] == '\n';
  }
}

// A server that accepts one client and runs `behaviour` on it, on a thread.
class FakeServer {
 public:
  explicit FakeServer(std::function<void(int)> behaviour)
      : listener_(listen_locally()), port_(gotit::local_port(listener_.get())) {
    thread_ = std::thread([this, behaviour] {
      pollfd waiting{listener_.get(), POLLIN, 0};
      if (::poll(&waiting, 1, 10000) <= 0) return;  // bounded: nobody came
      const gotit::UniqueFd client(::accept(listener_.get(), nullptr, nullptr));
      if (client) behaviour(client.get());
    });
  }
  ~FakeServer() { thread_.join(); }
  FakeServer(const FakeServer&) = delete;
  FakeServer& operator=(const FakeServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::string port_text() const { return std::to_string(port_); }

 private:
  gotit::UniqueFd listener_;
  std::uint16_t port_;
  std::thread thread_;
};

// A port nobody listens on: bound, then closed.
std::uint16_t closed_port() {
  const gotit::UniqueFd listener = listen_locally();
  return gotit::local_port(listener.get());
}

ClientFailure failure_of(const std::function<void()>& attempt) {
  try {
    attempt();
  } catch (const gotit::ClientError& error) {
    return error.kind();
  }
  FAIL("no ClientError");
  return ClientFailure::other;
}

gotit::test::RunResult client(std::vector<std::string> args, std::optional<std::string> in = "hello\n") {
  return run_program(GOTIT_GOTIT_CLIENT_BIN, std::move(args), std::move(in));
}

}  // namespace

TEST_CASE("exit codes per failure") {
  CHECK(gotit::exit_code(ClientFailure::unknown_host) == 3);
  CHECK(gotit::exit_code(ClientFailure::refused) == 4);
  CHECK(gotit::exit_code(ClientFailure::closed_early) == 5);
  CHECK(gotit::exit_code(ClientFailure::timeout) == 6);
  CHECK(gotit::exit_code(ClientFailure::too_long) == 1);
  CHECK(gotit::exit_code(ClientFailure::other) == 1);
}

TEST_CASE("library: unknown host, refused") {
  CHECK(failure_of([] { gotit::BlockingClient("no-such-host.invalid", 3000, 2s); }) ==
        ClientFailure::unknown_host);
  const auto port = closed_port();
  CHECK(failure_of([port] { gotit::BlockingClient("127.0.0.1", port, 2s); }) == ClientFailure::refused);
}

TEST_CASE("library: a server that never answers is a timeout") {
  // Never accepted: the kernel completes the handshake from the backlog, so
  // the client connects, sends, and waits for a reply that never comes.
  const gotit::UniqueFd listener = listen_locally();
  gotit::BlockingClient client("127.0.0.1", gotit::local_port(listener.get()), 300ms);
  CHECK(failure_of([&] { client.request("hello"); }) == ClientFailure::timeout);
}

TEST_CASE("library: a server that closes without replying") {
  FakeServer server([](int fd) { read_lines(fd, 1); });
  gotit::BlockingClient client("127.0.0.1", server.port(), 5s);
  CHECK(failure_of([&] { client.request("hello"); }) == ClientFailure::closed_early);
}

TEST_CASE("library: a line longer than 255 bytes is refused before sending") {
  FakeServer server([](int fd) {
    read_lines(fd, 1);
    gotit::write_all(fd, "Got it!\n");
  });
  gotit::BlockingClient client("127.0.0.1", server.port(), 5s);
  CHECK(failure_of([&] { client.send_line(std::string(256, 'x')); }) == ClientFailure::too_long);
  CHECK(client.request(std::string(255, 'x')) == "Got it!");
  // 255 bytes and the '\r' of a CRLF line: the server drops the '\r'.
  CHECK_NOTHROW(gotit::BlockingClient::check_line(std::string(255, 'x') + '\r'));
}

TEST_CASE("library: pipelined, fewer replies than requests is closed_early") {
  FakeServer server([](int fd) {
    read_lines(fd, 3);
    gotit::write_all(fd, "Got it!\n");
  });
  gotit::BlockingClient client("127.0.0.1", server.port(), 5s);
  int left = 3;
  std::ostringstream out;
  CHECK(failure_of([&] {
    gotit::run_pipelined(client, [&]() -> std::optional<std::string> {
      if (left == 0) return std::nullopt;
      --left;
      return "x";
    }, out);
  }) == ClientFailure::closed_early);
  CHECK(out.str() == "Got it!\n");
}

// A full gotit server: its last word at once, then whatever the client
// sent is read (so the close is a FIN, not a reset), then the close.
void turn_away(int fd) {
  gotit::write_all(fd, "Error: server full\n");
  read_lines(fd, 1);
}

std::vector<std::string> one_line(std::string line) { return {std::move(line)}; }

gotit::LineSource lines_of(std::vector<std::string>& lines) {
  return [&lines]() -> std::optional<std::string> {
    if (lines.empty()) return std::nullopt;
    std::string next = std::move(lines.front());
    lines.erase(lines.begin());
    return next;
  };
}

TEST_CASE("library: a full server's line, then its close, is an error, not the reply") {
  const std::string said = "the server said \"Error: server full\" and closed the connection";
  SECTION("pipelined") {
    FakeServer server(turn_away);
    gotit::BlockingClient client("127.0.0.1", server.port(), 5s);
    auto lines = one_line("hi");
    std::ostringstream out;
    try {
      gotit::run_pipelined(client, lines_of(lines), out);
      FAIL("no ClientError");
    } catch (const gotit::ClientError& error) {
      CHECK(error.kind() == ClientFailure::closed_early);
      CHECK(error.what() == said);
    }
    CHECK(out.str().empty());
  }
  SECTION("one request") {
    FakeServer server(turn_away);
    gotit::BlockingClient client("127.0.0.1", server.port(), 5s);
    try {
      client.request("hi");
      FAIL("no ClientError");
    } catch (const gotit::ClientError& error) {
      CHECK(error.kind() == ClientFailure::closed_early);
      CHECK(error.what() == said);
    }
  }
}

TEST_CASE("library: an echo server's echo of \"Error: server full\" is a reply") {
  auto echo_then_close = [](int fd) {
    read_lines(fd, 1);
    gotit::write_all(fd, "Error: server full\n");
  };
  SECTION("pipelined, the request ending in CRLF") {
    FakeServer server(echo_then_close);
    gotit::BlockingClient client("127.0.0.1", server.port(), 5s);
    auto lines = one_line("Error: server full\r");
    std::ostringstream out;
    CHECK(gotit::run_pipelined(client, lines_of(lines), out) == 1);
    CHECK(out.str() == "Error: server full\n");
  }
  SECTION("one request") {
    FakeServer server(echo_then_close);
    gotit::BlockingClient client("127.0.0.1", server.port(), 5s);
    CHECK(client.request("Error: server full") == "Error: server full");
  }
}

namespace {

// A pipe standing for the person at the keyboard, who types a line `after`
// (if given) -- a bound, so a wait that misses the server's close fails
// rather than hangs. A test that ends sooner does not wait for it.
struct Keyboard {
  explicit Keyboard(std::optional<std::chrono::milliseconds> after) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    read_end.reset(fds[0]);
    write_end.reset(fds[1]);
    if (after) typist = std::thread([this, delay = *after, done = done_.get_future()] {
      if (done.wait_for(delay) == std::future_status::ready) return;
      const ssize_t written = ::write(write_end.get(), "typed\n", 6);
      (void)written;  // the wait under test fails its check if this did not arrive
    });
  }
  ~Keyboard() {
    done_.set_value();
    if (typist.joinable()) typist.join();
  }
  gotit::UniqueFd read_end, write_end;
  std::promise<void> done_;
  std::thread typist;
};

}  // namespace

TEST_CASE("library: between requests, a server that closes is reported before the next line is typed") {
  FakeServer server([](int) {});  // accepts, then closes
  gotit::BlockingClient client("127.0.0.1", server.port(), 5s);
  Keyboard keyboard(3s);
  const auto start = std::chrono::steady_clock::now();
  CHECK(failure_of([&] { client.wait_for_input(keyboard.read_end.get()); }) == ClientFailure::closed_early);
  CHECK(std::chrono::steady_clock::now() - start < 2s);
}

TEST_CASE("library: between requests, a server's last word before it closes is the error") {
  FakeServer server([](int fd) { gotit::write_all(fd, "Error: server full\n"); });
  gotit::BlockingClient client("127.0.0.1", server.port(), 5s);
  Keyboard keyboard(3s);
  std::this_thread::sleep_for(200ms);  // the line and the FIN are both in
  try {
    client.wait_for_input(keyboard.read_end.get());
    FAIL("no ClientError");
  } catch (const gotit::ClientError& error) {
    CHECK(error.kind() == ClientFailure::closed_early);
    CHECK(std::string(error.what()) == "the server said \"Error: server full\" and closed the connection");
  }
}

TEST_CASE("library: between requests, a typed line ends the wait") {
  FakeServer server([](int fd) { read_lines(fd, 1); });
  gotit::BlockingClient client("127.0.0.1", server.port(), 5s);
  Keyboard keyboard(0ms);
  CHECK_FALSE(client.wait_for_input(keyboard.read_end.get()));
  client.send_line("bye");  // lets the fake server go
}

TEST_CASE("interactive: the prompt's line ends before the error of a server that closed") {
  FakeServer server([](int) {});
  gotit::BlockingClient client("127.0.0.1", server.port(), 5s);
  Keyboard keyboard(3s);
  std::istringstream in;  // nothing buffered: the wait is on the keyboard's fd
  std::ostringstream out, err;
  CHECK(failure_of([&] { gotit::run_interactive(client, in, out, err, keyboard.read_end.get()); }) ==
        ClientFailure::closed_early);
  CHECK(out.str() == std::string(gotit::kPrompt) + "\n");
}

TEST_CASE("gotit-client: usage errors exit 2") {
  CHECK(client({}).status.code == 2);
  CHECK(client({"localhost"}).status.code == 2);
  const auto bad_port = client({"localhost", "99999"});
  CHECK(bad_port.status.code == 2);
  CHECK(bad_port.err == "gotit-client: error: port must be 1..65535, got '99999'\n");
  CHECK(client({"localhost", "3000", "--timeout", "soon"}).status.code == 2);
  CHECK(client({"localhost", "3000", "--timeout", "0"}).status.code == 2);
  CHECK(client({"localhost", "3000", "--count", "3"}).status.code == 2);
  CHECK(client({"localhost", "3000", "--message", "x", "--count", "0"}).status.code == 2);
  CHECK(client({"localhost", "3000", "--frobnicate"}).status.code == 2);
}

TEST_CASE("gotit-client: --help lists the exit codes, --version") {
  const auto help = client({"--help"});
  CHECK(help.status.code == 0);
  CHECK(help.out.find("Exit codes:") != std::string::npos);
  CHECK(help.out.find("6  timeout") != std::string::npos);
  CHECK(client({"--version"}).status.code == 0);
}

TEST_CASE("gotit-client: unknown host 3, refused 4") {
  const auto unknown = client({"no-such-host.invalid", "3000"});
  CHECK(unknown.status.code == 3);
  CHECK(unknown.err.find("cannot resolve 'no-such-host.invalid'") != std::string::npos);
  const auto refused = client({"127.0.0.1", std::to_string(closed_port())});
  CHECK(refused.status.code == 4);
  CHECK(refused.err.find("Connection refused") != std::string::npos);
}

TEST_CASE("gotit-client: server closed early 5") {
  FakeServer server([](int fd) {
    read_lines(fd, 2);
    gotit::write_all(fd, "Got it!\n");  // one reply for two requests
  });
  const auto result = client({"127.0.0.1", server.port_text()}, "one\ntwo\n");
  CHECK(result.status.code == 5);
  CHECK(result.out == "Got it!\n");
  CHECK(result.err.find("closed") != std::string::npos);
}

TEST_CASE("gotit-client: no reply within --timeout 6") {
  const gotit::UniqueFd listener = listen_locally();
  const auto result = client({"127.0.0.1", std::to_string(gotit::local_port(listener.get())),
                              "--timeout", "0.3"});
  CHECK(result.status.code == 6);
  CHECK(result.err.find("no reply within 300 ms") != std::string::npos);
}

TEST_CASE("gotit-client: a line too long is refused locally, exit 1") {
  FakeServer server([](int fd) {
    read_lines(fd, 1);
    gotit::write_all(fd, "Got it!\n");
  });
  const auto result = client({"127.0.0.1", server.port_text()}, "short\n" + std::string(300, 'x') + "\n");
  CHECK(result.status.code == 1);
  CHECK(result.out == "Got it!\n");
  CHECK(result.err.find("300 bytes is longer than the server accepts") != std::string::npos);
}

// The shared server behaviour suite: protocol-level checks that every gotit
// server must pass, whatever its I/O model. Run once per server and model:
//   GOTIT_SERVER             path of the server program (default: gotit-blocking)
//   GOTIT_SERVER_ARGS        extra arguments, space-separated ("--model threads")
//   GOTIT_SERVER_CONCURRENT  1 if it serves clients at once, 0 if one at a time
// Each test starts its own server with `--port 0 [--reply echo] $GOTIT_SERVER_ARGS`.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <latch>
#include <optional>
#include <sstream>
#include <thread>

#include "catch.hpp"
#include "gotit/client/client.hpp"
#include "gotit/client/modes.hpp"
#include "gotit/common/protocol.hpp"
#include "support/client.hpp"
#include "support/process.hpp"

namespace {

using namespace std::chrono_literals;
using gotit::test::ChildProcess;
using gotit::test::TestClient;

std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value ? value : fallback;
}

std::string server_path() {
#ifdef GOTIT_GOTIT_BLOCKING_BIN
  return env_or("GOTIT_SERVER", GOTIT_GOTIT_BLOCKING_BIN);
#else
  return env_or("GOTIT_SERVER", "");
#endif
}

bool concurrent() { return env_or("GOTIT_SERVER_CONCURRENT", "0") == "1"; }

std::vector<std::string> server_args(std::vector<std::string> args) {
  std::istringstream extra(env_or("GOTIT_SERVER_ARGS", ""));
  for (std::string word; extra >> word;) args.push_back(word);
  return args;
}

// The server under test, started on a free port; SIGKILLed if a test fails.
struct Server {
  explicit Server(std::vector<std::string> args = {})
      : process(server_path(), server_args(concat({"--port", "0"}, std::move(args)))),
        port(process.wait_for_port()) {}

  static std::vector<std::string> concat(std::vector<std::string> a, std::vector<std::string> b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  }

  ChildProcess process;
  std::uint16_t port;
};

struct EchoServer : Server {
  EchoServer() : Server({"--reply", "echo"}) {}
};

std::string numbered_lines(const std::string& prefix, int count) {
  std::string lines;
  for (int i = 0; i < count; ++i) lines += prefix + std::to_string(i) + "\n";
  return lines;
}

// True if `client` receives nothing within `wait`.
bool silent_for(const TestClient& client, std::chrono::milliseconds wait) {
  pollfd waiting{client.fd(), POLLIN, 0};
  return ::poll(&waiting, 1, static_cast<int>(wait.count())) == 0;
}

}  // namespace

TEST_CASE("every message gets Got it!") {
  Server server;
  TestClient client(server.port);
  client.send("hello\n");
  CHECK(client.read_line() == "Got it!\n");
  client.send("\n");  // an empty line is a message too
  CHECK(client.read_line() == "Got it!\n");
}

TEST_CASE("the client library gets its replies") {
  Server server;
  gotit::BlockingClient client("localhost", server.port, 10s);
  CHECK(client.request("hello") == "Got it!");
  CHECK(client.request("world") == "Got it!");
  int left = 100;
  std::ostringstream out;
  const auto answered = gotit::run_pipelined(client, [&]() -> std::optional<std::string> {
    if (left == 0) return std::nullopt;
    return "again " + std::to_string(left--);
  }, out);
  CHECK(answered == 100);
}

TEST_CASE("gotit-client through a pipe prints one reply per line") {
  Server server;
  const auto result = gotit::test::run_program(GOTIT_GOTIT_CLIENT_BIN,
                                               {"localhost", std::to_string(server.port)},
                                               "hello\nworld\n");
  CHECK(result.status.code == 0);
  CHECK(result.out == "Got it!\nGot it!\n");
  CHECK(result.err.empty());

  const auto scripted = gotit::test::run_program(GOTIT_GOTIT_CLIENT_BIN,
      {"127.0.0.1", std::to_string(server.port), "--message", "hi", "--count", "3"});
  CHECK(scripted.status.code == 0);
  CHECK(scripted.out == "Got it!\nGot it!\nGot it!\n");
}

TEST_CASE("1000 pipelined requests in one write get 1000 replies in order") {
  EchoServer server;
  TestClient client(server.port);
  const std::string requests = numbered_lines("request ", 1000);
  client.send(requests);
  std::string replies;
  for (const auto& line : client.read_lines(1000)) replies += line;
  CHECK(replies == requests);
}

TEST_CASE("echo returns the exact bytes, binary and NUL included") {
  EchoServer server;
  TestClient client(server.port);
  const std::string message("a\0b\x01\xff\r c\t\x7f", 11);  // a '\r' inside is content
  REQUIRE(message.size() == 11);
  client.send(message + "\n");
  CHECK(client.read_line() == message + "\n");
  client.send("\n");
  CHECK(client.read_line() == "\n");
}

TEST_CASE("\\r\\n ends a line like \\n") {
  EchoServer server;
  TestClient client(server.port);
  client.send("dos\r\nunix\n");
  CHECK(client.read_line() == "dos\n");
  CHECK(client.read_line() == "unix\n");
}

TEST_CASE("exactly 255 bytes is a message") {
  EchoServer server;
  TestClient client(server.port);
  const std::string longest(gotit::kMaxMessageBytes, 'x');
  client.send(longest + "\n");
  CHECK(client.read_line() == longest + "\n");
  client.send(longest + "\r\n");
  CHECK(client.read_line() == longest + "\n");
}

// The server sends FIN after the reply and discards the rest of the client's
// bytes for a while (see the lingering-close tests below); closed_by_server()
// accepts EOF or RST alike.
TEST_CASE("256 bytes get the error reply, then the connection closes") {
  Server server;
  SECTION("in one line after a good one") {
    TestClient client(server.port);
    client.send("fine\n" + std::string(256, 'x') + "\nnever answered\n");
    CHECK(client.read_line() == "Got it!\n");
    CHECK(client.read_line() == gotit::kOversizedReply);
    CHECK(client.closed_by_server());
  }
  SECTION("streamed without a newline") {
    TestClient client(server.port);
    client.send(std::string(300, 'y'));
    CHECK(client.read_line() == gotit::kOversizedReply);
    CHECK(client.closed_by_server());
  }
  SECTION("a 256-byte line that arrives whole, nothing after it") {
    TestClient client(server.port);
    client.send(std::string(256, 'w') + "\n");
    CHECK(client.read_until_close() == gotit::kOversizedReply);
  }
  SECTION("nobody else notices") {
    TestClient rude(server.port);
    rude.send(std::string(1000, 'z') + "\n");
    CHECK(rude.read_line() == gotit::kOversizedReply);
    CHECK(rude.closed_by_server());
    TestClient polite(server.port);
    polite.send("hello\n");
    CHECK(polite.read_line() == "Got it!\n");
  }
}

TEST_CASE("at half-close the remainder is one last message, then the server closes") {
  EchoServer server;
  TestClient client(server.port);
  client.send("first\nlast words");
  client.shutdown_write();
  CHECK(client.read_until_close() == "first\nlast words\n");
}

TEST_CASE("a line written byte by byte is one message") {
  EchoServer server;
  TestClient client(server.port);
  const int on = 1;  // one segment per byte, so the server reads them one by one
  REQUIRE(setsockopt(client.fd(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) == 0);
  for (const char byte : std::string("hello\r\nworld\n")) {
    client.send(std::string_view(&byte, 1));
    std::this_thread::sleep_for(1ms);
  }
  CHECK(client.read_lines(2) == std::vector<std::string>{"hello\n", "world\n"});
}

TEST_CASE("50 clients are served at once") {
  if (!concurrent()) {
    SUCCEED("one client at a time: see 'a second client waits for the first'");
    return;
  }
  EchoServer server;
  constexpr int kClients = 50;
  std::latch connected(kClients);
  gotit::test::run_concurrently(kClients, [&](int index) {
    std::optional<TestClient> client;
    try {
      client.emplace(server.port);
    } catch (...) {
      connected.count_down();
      throw;
    }
    connected.arrive_and_wait();  // all 50 are connected before anyone talks
    const std::string requests = numbered_lines("client " + std::to_string(index) + " line ", 20);
    client->send(requests);
    std::string replies;
    for (const auto& line : client->read_lines(20)) replies += line;
    if (replies != requests) throw std::runtime_error("client " + std::to_string(index) + ": wrong replies");
  });
}

TEST_CASE("a client that resets mid-request does not disturb another") {
  Server server;
  std::optional<TestClient> other;
  if (concurrent()) {
    other.emplace(server.port);
    other->send("before\n");
    CHECK(other->read_line() == "Got it!\n");
  }
  {
    TestClient rude(server.port);
    rude.send(numbered_lines("unread ", 2000) + "half a line");
    rude.reset();  // RST, with replies unread: the server's writes fail
  }
  if (!other) other.emplace(server.port);
  other->send("after\n");
  CHECK(other->read_line() == "Got it!\n");
}

TEST_CASE("a second client waits for the first only in the iterative model") {
  Server server;
  std::optional<TestClient> first(std::in_place, server.port);
  first->send("one\n");
  CHECK(first->read_line() == "Got it!\n");
  TestClient second(server.port);
  second.send("two\n");
  if (concurrent()) {
    CHECK(second.read_line() == "Got it!\n");
  } else {
    CHECK(silent_for(second, 300ms));  // queued in the backlog, unanswered
    first.reset();                     // the first leaves...
    CHECK(second.read_line() == "Got it!\n");  // ...and the second is served
  }
}

namespace {

void check_graceful_stop(int signal) {
  EchoServer server;
  TestClient client(server.port);
  client.send("first\n");
  REQUIRE(client.read_line() == "first\n");
  std::optional<TestClient> idle;
  if (concurrent()) idle.emplace(server.port);
  // Sent, not yet read back: every complete message must still be answered.
  const std::string late = numbered_lines("late ", 20);
  client.send(late + "incomplete");
  server.process.send_signal(signal);
  CHECK(client.read_until_close() == late);
  if (idle) CHECK(idle->read_until_close().empty());  // EOF: read_until_close throws on a reset
  // The server waits for our close after its FIN (until --shutdown-timeout).
  client.close();
  idle.reset();
  const auto status = server.process.wait(10s);
  REQUIRE(status);
  CHECK(status->code == 0);
  std::string err = server.process.stderr_text();
  while (!err.empty() && err.back() == '\n') err.pop_back();
  const std::string last_line = err.substr(err.rfind('\n') + 1);
  INFO("stderr: " << err);
  CHECK(last_line.find("stopped") != std::string::npos);
  CHECK(last_line.find("connections") != std::string::npos);
}

}  // namespace

TEST_CASE("SIGTERM: replies delivered, exit 0, one-line summary") { check_graceful_stop(SIGTERM); }

TEST_CASE("SIGINT: replies delivered, exit 0, one-line summary") { check_graceful_stop(SIGINT); }

// Connected in the kernel's accept queue when the stop comes (in the
// iterative model, certainly: the first client holds the loop): closing the
// listener would reset it, its request with it.
TEST_CASE("a stop answers the clients still queued to be accepted, then FIN") {
  EchoServer server;
  TestClient first(server.port);
  first.send("first\n");
  REQUIRE(first.read_line() == "first\n");
  TestClient queued(server.port);
  queued.send("queued\n");
  if (!concurrent()) CHECK(silent_for(queued, 300ms));
  server.process.send_signal(SIGTERM);
  CHECK(first.read_until_close().empty());
  first.close();  // the iterative server takes its queue only once the first has gone
  CHECK(queued.read_until_close() == "queued\n");  // throws on a reset
  queued.close();
  const auto status = server.process.wait(10s);
  REQUIRE(status);
  CHECK(status->code == 0);
}

// A client sends its request right after connecting; the stop can come
// between (kFirstRequestGrace). One that sends nothing gets its FIN soon
// after, not at --shutdown-timeout.
TEST_CASE("a stop answers the request a just-connected client sends right after it") {
  Server server;
  TestClient fresh(server.port);
  TestClient silent(server.port);
  const auto signalled = std::chrono::steady_clock::now();
  server.process.send_signal(SIGTERM);
  std::this_thread::sleep_for(50ms);  // the request is on its way when the stop begins
  fresh.send("just connected\n");
  CHECK(fresh.read_until_close() == "Got it!\n");  // throws on a reset
  fresh.close();  // the iterative server takes the next only once this one has gone
  CHECK(silent.read_until_close().empty());
  CHECK(std::chrono::steady_clock::now() - signalled < 5s);  // --shutdown-timeout is 10 s
  silent.close();
  const auto status = server.process.wait(10s);
  REQUIRE(status);
  CHECK(status->code == 0);
}

// --- the stop: replies, FIN, and the bound ------------------------------------

namespace {

// The summary's count of `what` (drained, cut): "drained 2" in the reactor's
// summary, "2 drained" in gotit-blocking's.
std::optional<int> summary_count(const std::string& err, const std::string& what) {
  const std::size_t line_start = err.rfind("stopped:");
  if (line_start == std::string::npos) return std::nullopt;
  std::istringstream words(err.substr(line_start, err.find('\n', line_start) - line_start));
  std::vector<std::string> list;
  for (std::string word; words >> word;) {
    while (!word.empty() && word.back() == ',') word.pop_back();
    list.push_back(word);
  }
  // gotit-blocking: "stopped: 3 connections, ..."; the reactor: "stopped: accepted 3, ...".
  const bool number_first = list.size() > 2 && list[2] == "connections";
  for (std::size_t i = 1; i < list.size(); ++i) {
    if (list[i] != what || (!number_first && i + 1 == list.size())) continue;
    const std::string& number = number_first ? list[i - 1] : list[i + 1];
    if (!number.empty() && std::isdigit(static_cast<unsigned char>(number[0]))) return std::stoi(number);
  }
  return std::nullopt;
}

// One request answered: the server has accepted `client` (the iterative
// model serves one client at a time).
void check_served(TestClient& client, const std::string& expected_reply) {
  client.send("served?\n");
  REQUIRE(client.read_line() == expected_reply);
}

// Sends without blocking until the server stops taking bytes for `quiet`
// (its buffers and ours are full), at most `limit` bytes. Returns what it sent.
std::size_t send_until_full(const TestClient& client, const std::string& chunk,
                            std::size_t limit, std::chrono::milliseconds quiet) {
  std::size_t sent = 0;
  while (sent < limit) {
    pollfd waiting{client.fd(), POLLOUT, 0};
    if (::poll(&waiting, 1, static_cast<int>(quiet.count())) <= 0) break;
    const ssize_t n = ::send(client.fd(), chunk.data(), chunk.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
    if (n < 0) throw gotit::SystemError("send", errno);
    sent += static_cast<std::size_t>(n);
  }
  return sent;
}

}  // namespace

// The case: a client pipelines far more than the socket buffers hold
// and has read none of the replies when SIGTERM comes. A close() with its
// requests unread would reset the connection and destroy replies on the way.
TEST_CASE("stop: pipelined requests, replies unread: whole replies in order, then EOF") {
  EchoServer server;
  TestClient client(server.port);
  check_served(client, "served?\n");
  // ~3 MB: more than the socket buffers on both sides hold, so requests are
  // still unread in the server's socket when the signal comes.
  const std::string requests = numbered_lines("request ", 200000);
  const std::size_t sent = send_until_full(client, requests, requests.size(), 300ms);
  REQUIRE(sent > 0);
  server.process.send_signal(SIGTERM);
  std::this_thread::sleep_for(300ms);  // the client reads only after the server's stop
  std::string received;
  try {
    received = client.read_until_close(20s);  // throws on ECONNRESET
  } catch (const std::exception& error) {
    server.process.wait(15s);
    FAIL(error.what() << "; server's stderr: " << server.process.stderr_text());
  }
  INFO("sent " << sent << " bytes, received " << received.size());
  CHECK(!received.empty());
  CHECK(received.back() == '\n');                      // whole replies only...
  CHECK(requests.compare(0, received.size(), received) == 0);  // ...in order, none lost
  client.close();  // after the EOF the server waits for our close
  const auto status = server.process.wait(15s);
  REQUIRE(status);
  CHECK(status->code == 0);
  INFO("stderr: " << server.process.stderr_text());
  CHECK(summary_count(server.process.stderr_text(), "drained") == 1);
  CHECK(summary_count(server.process.stderr_text(), "cut") == 0);
}

TEST_CASE("stop: a client that never reads is cut at --shutdown-timeout") {
  Server server({"--shutdown-timeout", "1"});
  TestClient client(server.port);
  check_served(client, "Got it!\n");
  const std::string chunk = numbered_lines("never read ", 1000);
  REQUIRE(send_until_full(client, chunk, 64 << 20, 500ms) > 0);
  const auto signalled = std::chrono::steady_clock::now();
  server.process.send_signal(SIGTERM);
  const auto status = server.process.wait(10s);
  const auto took = std::chrono::steady_clock::now() - signalled;
  REQUIRE(status);
  CHECK(status->code == 0);
  CHECK(took >= 900ms);  // it waited for the client...
  CHECK(took < 4s);      // ...but no longer than the bound (and the fork model's 1 s backstop)
  INFO("stderr: " << server.process.stderr_text());
  CHECK(summary_count(server.process.stderr_text(), "cut") == 1);
  CHECK(summary_count(server.process.stderr_text(), "drained") == 0);
}

// The bound is the stop's, not each client's: in the iterative model the
// clients queued behind the one being served get only what it left of it.
TEST_CASE("stop: one --shutdown-timeout bounds the queued clients too") {
  Server server({"--shutdown-timeout", "3"});
  TestClient served(server.port);
  check_served(served, "Got it!\n");
  TestClient queued_1(server.port);
  TestClient queued_2(server.port);
  queued_1.send("queued\n");
  queued_2.send("queued\n");
  if (!concurrent()) CHECK(silent_for(queued_1, 300ms));
  const auto signalled = std::chrono::steady_clock::now();
  server.process.send_signal(SIGTERM);
  // None of them closes: each is answered, gets FIN, and is cut at the bound.
  CHECK(served.read_until_close().empty());
  CHECK(queued_1.read_until_close() == "Got it!\n");
  CHECK(queued_2.read_until_close() == "Got it!\n");
  const auto status = server.process.wait(15s);
  const auto took = std::chrono::steady_clock::now() - signalled;
  REQUIRE(status);
  CHECK(status->code == 0);
  CHECK(took >= 2900ms);
  CHECK(took < 5s);  // 6 s and more when each queued client had a bound of its own
}

// A deadline for the whole batch of replies to one read: a client that takes
// a few bytes now and then does not hold its thread (or, iterative, the
// server) for ever.
TEST_CASE("a client that reads a trickle is dropped by --write-timeout") {
  if (server_path().find("gotit-blocking") == std::string::npos) {
    // libevent's write timeout restarts at every write, and a trickling
    // peer holds no thread there: the reactor keeps serving it.
    SUCCEED("gotit-blocking only");
    return;
  }
  Server server({"--write-timeout", "1"});
  TestClient client(server.port);
  check_served(client, "Got it!\n");
  const std::string chunk(4096, '\n');  // each read's replies: 256 x "Got it!\n"
  const std::size_t sent = send_until_full(client, chunk, 64 << 20, 500ms);
  REQUIRE(sent > 0);
  const std::size_t replies = sent * gotit::kGotItReply.size();
  std::size_t received = 0;
  bool dropped = false;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!dropped && std::chrono::steady_clock::now() < deadline) {
    char bytes[64];  // 64 bytes every 200 ms: a trickle
    const ssize_t n = ::recv(client.fd(), bytes, sizeof bytes, MSG_DONTWAIT);
    if (n > 0) received += static_cast<std::size_t>(n);
    // Dropped: the server closed with our requests unread, so a RST came.
    // The replies already in our receive buffer stay readable, so ask poll.
    pollfd state{client.fd(), POLLIN, 0};
    dropped = n == 0 || (n < 0 && errno == ECONNRESET) ||
              (::poll(&state, 1, 0) > 0 && (state.revents & (POLLHUP | POLLERR)) != 0);
    std::this_thread::sleep_for(200ms);
  }
  INFO("received " << received << " of " << replies << " reply bytes");
  CHECK(dropped);
  CHECK(received < replies);
  TestClient other(server.port);  // the server is free again (iterative too)
  other.send("hello\n");
  CHECK(other.read_line() == "Got it!\n");
}

TEST_CASE("-vv logs every message as the tutorial did") {
  Server server({"-vv"});
  TestClient client(server.port);
  client.send("hello\n");
  REQUIRE(client.read_line() == "Got it!\n");
  bool logged = false;
  for (int i = 0; i < 100 && !logged; ++i) {  // the log may trail the reply
    logged = server.process.stderr_text().find("Here is the message: hello\n") != std::string::npos;
    if (!logged) std::this_thread::sleep_for(20ms);
  }
  CHECK(logged);
}

// Closing a socket with unread bytes makes the kernel send RST, and an RST
// can destroy replies the client has not read yet. The server must close
// gracefully (FIN after the replies, then discard until the client closes).
TEST_CASE("after an oversized line the replies arrive and then EOF (not a reset)") {
  Server server;
  TestClient client(server.port);
  client.send("ok\n" + std::string(300, 'x') + "\n" + numbered_lines("unread ", 2000));
  std::this_thread::sleep_for(300ms);  // the server answers and closes meanwhile
  CHECK(client.read_line() == "Got it!\n");
  CHECK(client.read_line() == gotit::kOversizedReply);
  CHECK(client.read_until_close().empty());  // throws on ECONNRESET
}

TEST_CASE("a client that streams on after an oversized line is disconnected") {
  Server server;
  TestClient client(server.port);
  client.send(std::string(300, 'x') + "\n");
  const std::string more = numbered_lines("more ", 400);
  std::string received;
  bool disconnected = false;
  const auto deadline = std::chrono::steady_clock::now() + 20s;  // far above the server's bound
  while (!disconnected && std::chrono::steady_clock::now() < deadline) {
    pollfd waiting{client.fd(), POLLIN | POLLOUT, 0};
    REQUIRE(::poll(&waiting, 1, 100) >= 0);
    if (waiting.revents & (POLLIN | POLLERR | POLLHUP)) {
      char chunk[4096];
      const ssize_t n = ::recv(client.fd(), chunk, sizeof chunk, MSG_DONTWAIT);
      if (n > 0) received.append(chunk, static_cast<std::size_t>(n));
      if (n < 0 && errno == ECONNRESET) disconnected = true;
    }
    if (!disconnected && (waiting.revents & POLLOUT)) {
      const ssize_t n = ::send(client.fd(), more.data(), more.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) disconnected = true;
    }
  }
  CHECK(disconnected);
  CHECK(received == gotit::kOversizedReply);
}

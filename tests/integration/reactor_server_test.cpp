// ReactorServer in-process: the loop runs on a thread of the test, so the
// tests can read its counters while it serves (they are written by the loop
// thread and readable from any thread).
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "support/eventually.hpp"
#include "gotit/reactor/server.hpp"
#include "support/client.hpp"

namespace {

using namespace std::chrono_literals;
using gotit::test::GreedyFill;
using gotit::test::TestClient;
using gotit::test::eventually;
using gotit::test::repeat;
using gotit::test::send_without_reading;

gotit::ReactorOptions local_options() {
  gotit::ReactorOptions options;
  options.server.listen.bind_host = "127.0.0.1";
  options.server.listen.port = 0;
  options.handle_signals = false;  // the test process keeps its own signals
  // Most tests stop with their clients still open, and the stop waits for
  // them to close after its FIN: not for long, here.
  options.server.shutdown_timeout = std::chrono::seconds(1);
  return options;
}

// A ReactorServer whose loop runs on a thread of its own. The destructor
// stops it (gracefully, then at once if that takes too long) and joins.
class ServerThread {
 public:
  explicit ServerThread(const gotit::ReactorOptions& options)
      : server_(options), loop_([this] {
          graceful_ = server_.run();
          done_ = true;
        }) {}
  ~ServerThread() {
    if (loop_.joinable()) stop();
  }
  ServerThread(const ServerThread&) = delete;
  ServerThread& operator=(const ServerThread&) = delete;

  // Graceful stop; returns what run() returned.
  bool stop() {
    server_.request_stop();
    return wait_stopped();
  }
  // After request_stop(): waits for the graceful stop (then a second
  // request), joins; returns what run() returned.
  bool wait_stopped() {
    if (!eventually([this] { return done_.load(); }, 10s)) {
      server_.request_stop();  // a second request stops at once
    }
    loop_.join();
    return graceful_;
  }

  void request_stop() { server_.request_stop(); }
  bool done() const { return done_; }
  std::uint16_t port() const { return server_.port(); }
  const gotit::ReactorStats& stats() const { return server_.stats(); }
  gotit::Reader reader() const { return server_.reader(); }

 private:
  gotit::ReactorServer server_;
  std::atomic<bool> done_{false};
  bool graceful_ = false;  // written by the loop thread before done_
  std::thread loop_;       // last: starts once everything above exists
};

constexpr std::string_view kGotIt = "Got it!\n";

// Reads up to `bytes` bytes of "Got it!\n" replies from a non-blocking
// socket, without the per-line copying of TestClient (there may be
// megabytes). Returns how many correct bytes arrived within 20 s.
std::size_t read_replies(int fd, std::size_t bytes) {
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  std::size_t good = 0;
  char chunk[64 * 1024];
  while (good < bytes && std::chrono::steady_clock::now() < deadline) {
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) break;
      std::this_thread::sleep_for(1ms);
      continue;
    }
    for (ssize_t i = 0; i < n; ++i, ++good) {
      if (chunk[i] != kGotIt[good % kGotIt.size()]) return good;
    }
  }
  return good;
}

}  // namespace

TEST_CASE("in-process: pipelined requests are answered in order and counted") {
  ServerThread server(local_options());
  TestClient client(server.port());
  client.send(repeat("hello\n", 10'000));
  CHECK(client.read_lines(10'000) == std::vector<std::string>(10'000, "Got it!\n"));
  CHECK(server.stats().messages.get() == 10'000);
  CHECK(server.stats().bytes_in.get() == 60'000);
  CHECK(server.stats().bytes_out.get() == 80'000);
  CHECK(server.stats().accepted.get() == 1);
  CHECK(server.stats().open.get() == 1);
  CHECK(server.stop());
}

// Which read path is in effect shows in where the bytes went: through
// libevent's input evbuffer (bufferevent) or past it, straight from recv
// into our buffer (direct).
TEST_CASE("in-process: each reader takes the bytes by its own path") {
  for (const gotit::Reader reader : {gotit::Reader::bufferevent, gotit::Reader::direct}) {
    INFO("reader " << gotit::to_string(reader));
    gotit::ReactorOptions options = local_options();
    options.reader = reader;
    ServerThread server(options);
    // This libevent (2.1.x, as Debian 12's) is one direct was tested with.
    REQUIRE(server.reader() == reader);
    TestClient client(server.port());
    client.send(repeat("hello\n", 1'000));
    CHECK(client.read_lines(1'000) == std::vector<std::string>(1'000, "Got it!\n"));
    CHECK(server.stats().bytes_in.get() == 6'000);
    const std::uint64_t expected = reader == gotit::Reader::bufferevent ? 6'000 : 0;
    CHECK(server.stats().bytes_via_input_buffer.get() == expected);
    CHECK(server.stop());
  }
}

// A pass stops at the output high-water mark; when the replies then all go
// straight into the kernel nothing is throttled, and the rest of what has
// arrived must still be answered -- with --reader bufferevent it sits in the
// input evbuffer, where no new callback reports it.
TEST_CASE("in-process: a pass cut short at the high-water mark goes on") {
  const gotit::Reader reader = GENERATE(gotit::Reader::bufferevent, gotit::Reader::direct);
  INFO("reader " << gotit::to_string(reader));
  gotit::ReactorOptions options = local_options();
  options.output_high_water = 1024;
  options.reader = reader;
  ServerThread server(options);
  TestClient client(server.port());
  client.send(repeat("hello\n", 10'000));
  CHECK(client.read_lines(10'000) == std::vector<std::string>(10'000, "Got it!\n"));
  CHECK(server.stop());
}

TEST_CASE("in-process: a client that never reads is throttled, others are still answered") {
  const gotit::Reader reader = GENERATE(gotit::Reader::bufferevent, gotit::Reader::direct);
  INFO("reader " << gotit::to_string(reader));
  gotit::ReactorOptions options = local_options();
  options.output_high_water = 16 * 1024;
  options.reader = reader;
  ServerThread server(options);

  // The greedy client pipelines "x\n" without ever reading: 8 bytes of reply
  // per 2 bytes sent. Non-blocking, so the test sees when the server (and
  // then TCP flow control) stops taking its bytes. Small socket buffers keep
  // the amount (and the test's time) small.
  TestClient greedy(server.port());
  const int small = 64 * 1024;
  REQUIRE(setsockopt(greedy.fd(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small) == 0);
  REQUIRE(setsockopt(greedy.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small) == 0);
  const GreedyFill fill = send_without_reading(greedy.fd(), 500ms);
  const std::size_t sent = fill.sent;
  INFO("bytes the greedy client got in before being stopped: " << sent);
  REQUIRE(fill.stopped);
  CHECK(server.stats().slow_reader_throttles.get() >= 1);
  // While throttled the server reads nothing more from it.
  const auto read_so_far = server.stats().bytes_in.get();
  std::this_thread::sleep_for(200ms);
  CHECK(server.stats().bytes_in.get() == read_so_far);
  CHECK(read_so_far < sent);

  TestClient polite(server.port());
  polite.send("hello\n");
  CHECK(polite.read_line() == "Got it!\n");

  // Once the greedy client reads, the server resumes and answers it all.
  const std::size_t expected = sent / 2;
  CHECK(read_replies(greedy.fd(), expected * kGotIt.size()) == expected * kGotIt.size());
  CHECK(server.stats().messages.get() == expected + 1);
}

TEST_CASE("in-process: over --max-conns a peer is told the server is full") {
  gotit::ReactorOptions options = local_options();
  options.max_conns = 2;
  ServerThread server(options);
  TestClient first(server.port());
  TestClient second(server.port());
  first.send("a\n");
  second.send("b\n");
  CHECK(first.read_line() == "Got it!\n");
  CHECK(second.read_line() == "Got it!\n");

  TestClient third(server.port());
  CHECK(third.read_line() == "Error: server full\n");
  CHECK(third.closed_by_server());
  CHECK(server.stats().rejected_full.get() == 1);
  CHECK(server.stats().peak.get() == 2);

  // A freed place is taken again.
  first.shutdown_write();
  CHECK(first.closed_by_server());
  REQUIRE(eventually([&] { return server.stats().open.get() == 1; }));
  TestClient fourth(server.port());
  fourth.send("c\n");
  CHECK(fourth.read_line() == "Got it!\n");
}

TEST_CASE("in-process: a graceful stop answers what has arrived, then closes") {
  ServerThread server(local_options());
  TestClient client(server.port());
  TestClient idle(server.port());
  client.send(repeat("hello\n", 1000) + "unfinished");
  REQUIRE(eventually([&] { return server.stats().messages.get() == 1000; }));
  server.request_stop();
  const std::string replies = client.read_until_close();  // EOF, not a reset
  CHECK(replies == repeat("Got it!\n", 1000));
  CHECK(idle.read_until_close().empty());
  client.close();  // the server waits for our close after its FIN
  idle.close();
  CHECK(server.wait_stopped());
  CHECK(server.stats().open.get() == 0);
  CHECK(server.stats().drained.get() == 2);
}

TEST_CASE("in-process: a stop answers requests still waiting in the kernel") {
  const gotit::Reader reader = GENERATE(gotit::Reader::bufferevent, gotit::Reader::direct);
  INFO("reader " << gotit::to_string(reader));
  gotit::ReactorOptions options = local_options();
  options.reader = reader;
  ServerThread server(options);
  TestClient client(server.port());
  // A single byte first, so the connection is surely accepted; the rest may
  // or may not have been read by the loop when the stop arrives.
  client.send("a\n");
  CHECK(client.read_line() == "Got it!\n");
  client.send(repeat("hello\n", 500));
  server.request_stop();
  CHECK(client.read_until_close() == repeat("Got it!\n", 500));
  client.close();
  CHECK(server.wait_stopped());
  CHECK(server.stats().messages.get() == 501);
}

TEST_CASE("in-process: the idle timeout closes only idle peers") {
  const gotit::Reader reader = GENERATE(gotit::Reader::bufferevent, gotit::Reader::direct);
  INFO("reader " << gotit::to_string(reader));
  gotit::ReactorOptions options = local_options();
  options.idle_timeout = 1s;
  options.reader = reader;
  ServerThread server(options);
  TestClient idle(server.port());
  TestClient busy(server.port());
  const auto start = std::chrono::steady_clock::now();
  bool idle_closed = false;
  for (int i = 0; i < 40 && !idle_closed; ++i) {  // at most ~4 s
    busy.send("still here\n");
    REQUIRE(busy.read_line() == "Got it!\n");
    idle_closed = idle.closed_by_server(100ms);
  }
  CHECK(idle_closed);
  CHECK(std::chrono::steady_clock::now() - start >= 900ms);
  busy.send("and now\n");
  CHECK(busy.read_line() == "Got it!\n");
  CHECK(server.stats().idle_timeouts.get() == 1);
}

TEST_CASE("in-process: a peer that resets mid-request costs nobody else anything") {
  ServerThread server(local_options());
  {
    TestClient rude(server.port());
    rude.send("half a req");
    REQUIRE(eventually([&] { return server.stats().bytes_in.get() == 10; }));
    rude.reset();
  }
  REQUIRE(eventually([&] { return server.stats().open.get() == 0; }));
  TestClient next(server.port());
  next.send("hello\n");
  CHECK(next.read_line() == "Got it!\n");
  CHECK(server.stats().messages.get() == 1);
}

// A closed session is kept spare and its bufferevent serves the next peer
// (session_pool.cpp). The first peer leaves everything changed that can be:
// a split line, the error reply, the lingering close's 2 s read bound. The
// next one, on the same bufferevent, must get a fresh start: its replies
// and the idle timeout (3 s, longer than that bound: lateness on a busy
// machine cannot pass for it).
TEST_CASE("in-process: a reused session starts as a new one") {
  const gotit::Reader reader = GENERATE(gotit::Reader::bufferevent, gotit::Reader::direct);
  INFO("reader " << gotit::to_string(reader));
  gotit::ReactorOptions options = local_options();
  options.idle_timeout = 3s;
  options.reader = reader;
  ServerThread server(options);
  {
    TestClient first(server.port());
    first.send(std::string(300, 'x') + "\n");
    CHECK(first.read_until_close() == "Error: message longer than 255 bytes\n");
  }
  REQUIRE(eventually([&] { return server.stats().open.get() == 0; }));
  TestClient next(server.port());
  next.send("hel");
  next.send("lo\n");
  CHECK(next.read_line() == "Got it!\n");
  const auto start = std::chrono::steady_clock::now();
  CHECK(next.closed_by_server(10s));
  CHECK(std::chrono::steady_clock::now() - start >= 2900ms);  // not the 2 s bound
  CHECK(server.stats().idle_timeouts.get() == 1);
  CHECK(server.stats().accepted.get() == 2);
}

TEST_CASE("in-process: a reused session queues what the socket does not take, and its write timeout runs") {
  const gotit::Reader reader = GENERATE(gotit::Reader::bufferevent, gotit::Reader::direct);
  INFO("reader " << gotit::to_string(reader));
  gotit::ReactorOptions options = local_options();
  options.write_timeout = 1s;
  options.reader = reader;
  ServerThread server(options);
  {
    TestClient first(server.port());
    first.send("hello\n");
    CHECK(first.read_line() == "Got it!\n");
  }
  REQUIRE(eventually([&] { return server.stats().open.get() == 0; }));
  TestClient greedy(server.port());  // gets the first one's session
  send_without_reading(greedy.fd(), 300ms);
  REQUIRE(eventually([&] { return server.stats().slow_reader_throttles.get() >= 1; }));
  CHECK(eventually([&] { return server.stats().write_timeouts.get() == 1; }, 5s));
  CHECK(server.stats().accepted.get() == 2);
}

TEST_CASE("in-process: a second stop request ends the loop at once") {
  gotit::ReactorOptions options = local_options();
  ServerThread server(options);
  // A client that never reads keeps a graceful stop waiting for the write
  // timeout (30 s); the second request must not wait for it.
  TestClient greedy(server.port());
  send_without_reading(greedy.fd(), 300ms);
  REQUIRE(eventually([&] { return server.stats().slow_reader_throttles.get() >= 1; }));
  server.request_stop();
  std::this_thread::sleep_for(200ms);
  CHECK_FALSE(server.done());
  CHECK_FALSE(server.stop());  // second request: not graceful
}

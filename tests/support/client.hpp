// A raw test client on a real socket: send any bytes, read replies with a
// deadline. Every read is bounded in time so a broken server fails the
// test instead of hanging it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "gotit/common/net.hpp"

namespace gotit::test {

using namespace std::chrono_literals;

class TestClient {
 public:
  explicit TestClient(std::uint16_t port, const std::string& host = "127.0.0.1");

  void send(std::string_view bytes);
  // Half-close: the server sees EOF, we can still read.
  void shutdown_write();
  // Reads one line (with its '\n'). Throws on timeout or if the server
  // closes first.
  std::string read_line(std::chrono::milliseconds timeout = 10s);
  std::vector<std::string> read_lines(std::size_t count, std::chrono::milliseconds timeout = 20s);
  // Everything until the server closes; throws on timeout.
  std::string read_until_close(std::chrono::milliseconds timeout = 10s);
  // True if the server closed the connection (EOF or reset) within `timeout`,
  // discarding any bytes before that.
  bool closed_by_server(std::chrono::milliseconds timeout = 10s);
  // Sends RST instead of FIN when closed (SO_LINGER 0).
  void reset();
  // Closes now (FIN), as a client does after the server's EOF.
  void close() { fd_.reset(); }

  int fd() const { return fd_.get(); }

 private:
  // Reads more into buffer_; returns false at EOF.
  bool fill(std::chrono::steady_clock::time_point deadline);

  UniqueFd fd_;
  std::string buffer_;
};

// `piece` repeated `times` times.
std::string repeat(std::string_view piece, std::size_t times);

struct GreedyFill {
  std::size_t sent = 0;   // bytes the server's socket took
  bool stopped = false;   // false: still taking bytes after 20 s
};
// A greedy peer: makes `fd` non-blocking and pipelines "x\n" without ever
// reading a reply, until the server (and then TCP flow control) has taken
// nothing for `quiet`, or 20 s pass. A short send may stop between 'x' and
// '\n'; the next one goes on from there, so the stream holds whole lines.
GreedyFill send_without_reading(int fd, std::chrono::milliseconds quiet);

// Runs `body(index)` on `count` threads at once and rethrows the first failure.
void run_concurrently(int count, const std::function<void(int)>& body);

}  // namespace gotit::test

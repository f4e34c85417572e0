#include "support/client.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

namespace gotit::test {

TestClient::TestClient(std::uint16_t port, const std::string& host)
    : fd_(connect_tcp(host, port, 5s)) {}

void TestClient::send(std::string_view bytes) { write_all(fd_.get(), bytes); }

void TestClient::shutdown_write() {
  if (::shutdown(fd_.get(), SHUT_WR) != 0) throw SystemError("shutdown", errno);
}

bool TestClient::fill(std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw std::runtime_error("timed out waiting for the server");
    pollfd waiting{fd_.get(), POLLIN, 0};
    const int ready = ::poll(&waiting, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) throw SystemError("poll", errno);
    if (ready == 0) continue;
    char chunk[65536];
    const ssize_t n = ::recv(fd_.get(), chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw SystemError("recv", errno);
    if (n == 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }
}

std::string TestClient::read_line(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto newline = buffer_.find('\n');
    if (newline != std::string::npos) {
      std::string line = buffer_.substr(0, newline + 1);
      buffer_.erase(0, newline + 1);
      return line;
    }
    if (!fill(deadline)) throw std::runtime_error("server closed before a whole line: '" + buffer_ + "'");
  }
}

std::vector<std::string> TestClient::read_lines(std::size_t count, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<std::string> lines;
  lines.reserve(count);
  while (lines.size() < count) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    lines.push_back(read_line(left.count() > 0 ? left : 1ms));
  }
  return lines;
}

std::string TestClient::read_until_close(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (fill(deadline)) {}
  return std::exchange(buffer_, {});
}

bool TestClient::closed_by_server(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  try {
    while (fill(deadline)) buffer_.clear();
    return true;
  } catch (const SystemError& error) {
    return error.error_number() == ECONNRESET;
  } catch (const std::runtime_error&) {
    return false;  // timed out: still open
  }
}

void TestClient::reset() {
  const linger hard{1, 0};
  if (setsockopt(fd_.get(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard) != 0) {
    throw SystemError("setsockopt SO_LINGER", errno);
  }
  fd_.reset();
}

std::string repeat(std::string_view piece, std::size_t times) {
  std::string out;
  out.reserve(piece.size() * times);
  for (std::size_t i = 0; i < times; ++i) out += piece;
  return out;
}

GreedyFill send_without_reading(int fd, std::chrono::milliseconds quiet) {
  if (fcntl(fd, F_SETFL, O_NONBLOCK) != 0) throw SystemError("fcntl O_NONBLOCK", errno);
  const std::string chunk = repeat("x\n", 32 * 1024);
  GreedyFill fill;
  auto last_progress = std::chrono::steady_clock::now();
  const auto give_up = last_progress + 20s;
  while (std::chrono::steady_clock::now() - last_progress < quiet) {
    if (std::chrono::steady_clock::now() >= give_up) return fill;
    const std::size_t skip = fill.sent % 2;
    const ssize_t n = ::send(fd, chunk.data() + skip, chunk.size() - skip, MSG_NOSIGNAL);
    if (n > 0) {
      fill.sent += static_cast<std::size_t>(n);
      last_progress = std::chrono::steady_clock::now();
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      std::this_thread::sleep_for(10ms);
    } else {
      throw SystemError("send", errno);
    }
  }
  fill.stopped = true;
  return fill;
}

void run_concurrently(int count, const std::function<void(int)>& body) {
  std::mutex mutex;
  std::exception_ptr first_failure;
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    threads.emplace_back([&, i] {
      try {
        body(i);
      } catch (...) {
        std::lock_guard lock(mutex);
        if (!first_failure) first_failure = std::current_exception();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  if (first_failure) std::rethrow_exception(first_failure);
}

}  // namespace gotit::test

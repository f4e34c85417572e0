#include "gotit/client/client.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "gotit/common/protocol.hpp"

namespace gotit {
namespace {

using Clock = std::chrono::steady_clock;

// A reply is at most 256 bytes; far more without a newline is not a gotit server.
constexpr std::size_t kMaxReplyBytes = 64 * 1024;

ClientFailure classify(ConnectFailure failure) {
  switch (failure) {
    case ConnectFailure::unknown_host: return ClientFailure::unknown_host;
    case ConnectFailure::refused: return ClientFailure::refused;
    case ConnectFailure::timeout: return ClientFailure::timeout;
    case ConnectFailure::other: break;
  }
  return ClientFailure::other;
}

UniqueFd connect_or_throw(const std::string& host, std::uint16_t port,
                          std::chrono::milliseconds timeout) {
  try {
    return connect_tcp(host, port, timeout);
  } catch (const ConnectError& error) {
    throw ClientError(classify(error.kind()), error.what());
  }
}

bool peer_gone(int error) { return error == EPIPE || error == ECONNRESET; }

}  // namespace

int exit_code(ClientFailure failure) {
  switch (failure) {
    case ClientFailure::unknown_host: return 3;
    case ClientFailure::refused: return 4;
    case ClientFailure::closed_early: return 5;
    case ClientFailure::timeout: return 6;
    case ClientFailure::too_long:
    case ClientFailure::other: break;
  }
  return 1;
}

BlockingClient::BlockingClient(const std::string& host, std::uint16_t port,
                               std::chrono::milliseconds timeout)
    : fd_(connect_or_throw(host, port, timeout)), timeout_(timeout) {}

std::string BlockingClient::request(std::string_view line) {
  send_line(line);
  if (auto reply = read_reply(timeout_)) {
    check_turned_away(*reply, line);
    return std::move(*reply);
  }
  throw ClientError(ClientFailure::timeout,
                    fmt::format("no reply within {} ms", timeout_.count()));
}

void BlockingClient::check_line(std::string_view line) {
  // A '\r' at the end (a line from a CRLF file) is framing: the server drops it.
  if (line.ends_with('\r')) line.remove_suffix(1);
  if (line.size() > kMaxMessageBytes) {
    throw ClientError(ClientFailure::too_long,
                      fmt::format("a line of {} bytes is longer than the server accepts ({} bytes)",
                                  line.size(), kMaxMessageBytes));
  }
}

void BlockingClient::send_line(std::string_view line) {
  check_line(line);
  std::string framed;
  framed.reserve(line.size() + 1);
  framed.append(line);
  framed.push_back('\n');
  try {
    write_all(fd_.get(), framed);
  } catch (const SystemError& error) {
    if (peer_gone(error.error_number())) {
      throw ClientError(ClientFailure::closed_early, "the server closed the connection");
    }
    throw ClientError(ClientFailure::other, error.what());
  }
}

void BlockingClient::finish_sending() {
  if (::shutdown(fd_.get(), SHUT_WR) != 0 && errno != ENOTCONN) {
    throw ClientError(ClientFailure::other, SystemError("shutdown", errno).what());
  }
}

void BlockingClient::abort() { ::shutdown(fd_.get(), SHUT_RDWR); }

std::optional<std::string> BlockingClient::take_line() {
  const std::size_t newline = received_.find('\n');
  if (newline == std::string::npos) return std::nullopt;
  std::string line = received_.substr(0, newline);
  received_.erase(0, newline + 1);
  return line;
}

std::optional<std::string> BlockingClient::wait_for_input(int input_fd) {
  for (;;) {
    if (auto line = take_line()) {
      check_turned_away(*line, std::nullopt);
      return line;
    }
    pollfd waiting[2] = {{input_fd, POLLIN, 0}, {fd_.get(), POLLIN, 0}};
    if (::poll(waiting, 2, -1) < 0) {
      if (errno == EINTR) continue;
      throw ClientError(ClientFailure::other, SystemError("poll", errno).what());
    }
    if (waiting[1].revents != 0) {
      receive_some("the server closed the connection");
    } else {
      return std::nullopt;  // the input is readable, or at its end
    }
  }
}

void BlockingClient::check_turned_away(std::string_view line,
                                       std::optional<std::string_view> request) {
  const std::string_view full = kServerFullReply.substr(0, kServerFullReply.size() - 1);
  if (line != full) return;
  if (request) {
    std::string_view sent = *request;
    if (sent.ends_with('\r')) sent.remove_suffix(1);  // framing, as in check_line
    if (sent == full) return;                          // an echo
  }
  if (closes_within(timeout_)) {
    throw ClientError(ClientFailure::closed_early,
                      fmt::format("the server said \"{}\" and closed the connection", line));
  }
}

bool BlockingClient::closes_within(std::chrono::milliseconds wait) {
  if (!received_.empty()) return false;
  pollfd waiting{fd_.get(), POLLIN, 0};
  int ready;
  while ((ready = ::poll(&waiting, 1, static_cast<int>(wait.count()))) < 0 && errno == EINTR) {
  }
  if (ready <= 0) return false;
  char byte;
  const ssize_t n = ::recv(fd_.get(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && peer_gone(errno));
}

void BlockingClient::receive_some(std::string_view closed_message) {
  char chunk[4096];
  ssize_t n;
  while ((n = ::recv(fd_.get(), chunk, sizeof chunk, 0)) < 0 && errno == EINTR) {
  }
  if (n == 0 || (n < 0 && peer_gone(errno))) {
    throw ClientError(ClientFailure::closed_early, std::string(closed_message));
  }
  if (n < 0) throw ClientError(ClientFailure::other, SystemError("read", errno).what());
  received_.append(chunk, static_cast<std::size_t>(n));
  if (received_.size() > kMaxReplyBytes && received_.find('\n') == std::string::npos) {
    throw ClientError(ClientFailure::other, "the server sent a reply longer than 64 KiB");
  }
}

std::optional<std::string> BlockingClient::read_reply(std::chrono::milliseconds wait) {
  const auto deadline = Clock::now() + wait;
  for (;;) {
    if (auto line = take_line()) return line;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return std::nullopt;
    // poll() rather than SO_RCVTIMEO: one deadline for the whole reply,
    // however many reads it takes.
    pollfd waiting{fd_.get(), POLLIN, 0};
    const int ready = ::poll(&waiting, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) throw ClientError(ClientFailure::other, SystemError("poll", errno).what());
    if (ready > 0) receive_some("the server closed the connection before replying");
  }
}

}  // namespace gotit

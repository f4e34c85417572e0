// The sockets tutorial's client, done right: one blocking connection to a
// gotit server. getaddrinfo and every address tried (IPv6 and IPv4), every
// wait bounded by a timeout, and every failure classified so a tool can
// tell a person what went wrong -- and a script, through the exit code.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "gotit/common/net.hpp"

namespace gotit {

enum class ClientFailure {
  unknown_host,  // getaddrinfo found no such name             exit 3
  refused,       // nobody listens on that port                  exit 4
  closed_early,  // the server closed before every reply came    exit 5
  timeout,       // no connection, or no reply, within --timeout exit 6
  too_long,      // a line over 255 bytes, refused before sending exit 1
  other,         // anything else                                 exit 1
};

// gotit-client's exit code for a failure (see the table above).
int exit_code(ClientFailure failure);

class ClientError : public std::runtime_error {
 public:
  ClientError(ClientFailure kind, const std::string& message)
      : std::runtime_error(message), kind_(kind) {}
  ClientFailure kind() const { return kind_; }

 private:
  ClientFailure kind_;
};

// Owns one connection. request() for one round trip; send_line() and
// read_reply() for pipelining, where one thread may send while another
// reads (they share only the socket, which the kernel serialises).
class BlockingClient {
 public:
  // Connects, waiting at most `timeout` per address. Throws ClientError.
  BlockingClient(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout);

  // Sends `line` plus '\n'; returns the reply without its '\n'. Waits at
  // most the timeout for the reply.
  std::string request(std::string_view line);

  // Sends `line` plus '\n' (blocking until the kernel took it all). Throws
  // ClientError too_long for a line the server would refuse, closed_early
  // if the server is gone.
  void send_line(std::string_view line);
  // Throws ClientError too_long for a line the server would refuse.
  static void check_line(std::string_view line);
  // Half-close: tells the server no more requests come; replies still do.
  void finish_sending();
  // Waits at most `wait` for one reply line; nullopt if none came in time.
  // Throws ClientError closed_early if the server closed instead.
  std::optional<std::string> read_reply(std::chrono::milliseconds wait);
  // Unblocks a send_line or read_reply on another thread (shutdown both ways).
  void abort();
  // Interactive mode, between requests: waits until `input_fd` is readable
  // (the person typed a line) while watching the connection, so a server
  // that closes meanwhile (a stop) is reported at once rather than after
  // the next line is typed. Returns nullopt for input, or a line the server
  // sent unasked. Throws ClientError closed_early if the server closed
  // (check_turned_away for a full server's line).
  std::optional<std::string> wait_for_input(int input_fd);
  // A full server answers a new connection with "Error: server full" and
  // closes it, before it reads anything, so that line arrives where the
  // first reply is expected. Throws ClientError closed_early ("the server
  // said ... and closed the connection") when `line` is that text and the
  // server closes within the timeout. `request` is what the line answers
  // (none if it came unasked): an echo server's echo of that very text is
  // a reply.
  void check_turned_away(std::string_view line, std::optional<std::string_view> request);

  std::chrono::milliseconds timeout() const { return timeout_; }

 private:
  std::optional<std::string> take_line();
  // Whether the server closes, with nothing more sent, within `wait`.
  bool closes_within(std::chrono::milliseconds wait);
  // One recv into received_; throws closed_early (with `closed_message`) at
  // EOF or a reset, and for 64 KiB without a newline.
  void receive_some(std::string_view closed_message);

  UniqueFd fd_;
  std::chrono::milliseconds timeout_;
  std::string received_;  // bytes after the last whole reply; reader only
};

}  // namespace gotit

// gotit-blocking: the sockets tutorial's server (socket, bind, listen,
// accept, read, write), done right, in three models that differ only in who
// serves a connection:
//   iterative  the tutorial: the accepting thread serves one client at a
//              time; the next one waits in the kernel's accept queue
//   threads    a thread per connection
//   fork       a process per connection
// Every connection reads into a 256-byte buffer, feeds the shared
// LineFramer and writes each read's replies in one blocking write.
//
// SIGINT/SIGTERM stop it: no more accepting, every connection answers the
// complete messages already received and closes, run() returns the totals.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "gotit/common/server_cli.hpp"

namespace gotit {

enum class BlockingModel { iterative, threads, fork };

// "iterative", "threads" or "fork"; nullopt for anything else.
std::optional<BlockingModel> parse_blocking_model(std::string_view text);
std::string_view to_string(BlockingModel model);

struct BlockingOptions {
  ServerOptions server;
  BlockingModel model = BlockingModel::iterative;
};

// What a server did, for the one-line summary at exit. In the fork model
// each child reports its counts to the parent when it exits; a child killed
// after the stop grace period is counted as a connection only.
struct ServerTotals {
  std::uint64_t connections = 0;
  std::uint64_t messages = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t reaped = 0;  // vanished peers dropped by TCP keepalive / user timeout
};

// "stopped: 3 connections, 10 messages, 52 bytes in, 80 bytes out, 0 reaped by keepalive"
std::string format_summary(const ServerTotals& totals);

// Owns the listening socket and the SIGINT/SIGTERM handlers (one per
// process). Construct, announce the port, run() in the main thread.
class BlockingServer {
 public:
  // Listens (throws SystemError, "bind [::]:3000: Address already in use")
  // and installs the stop handlers, so a signal right after is not lost.
  explicit BlockingServer(const BlockingOptions& options);
  ~BlockingServer();
  BlockingServer(const BlockingServer&) = delete;
  BlockingServer& operator=(const BlockingServer&) = delete;

  int listening_fd() const;

  // Serves until SIGINT or SIGTERM; returns when every connection is done.
  ServerTotals run();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace gotit

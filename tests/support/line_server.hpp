// An in-process line server for testing the bench: one thread, one poll()
// loop on 127.0.0.1 port 0, the gotit protocol through the shared framer --
// and, on request, the faults the bench must catch: a reply dropped, a
// reply corrupted, or a server that accepts nothing at all.
//
// Owns its thread and sockets; the destructor stops and joins the thread.
// Counters may be read from the test thread at any time.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "gotit/common/net.hpp"
#include "gotit/common/protocol.hpp"

namespace gotit::test {

enum class Fault {
  none,
  drop,     // message number `fault_at` gets no reply
  corrupt,  // message number `fault_at` gets "Got iX!\n"
  stall,    // never accept: connections wait in the kernel's queue
  reorder,  // message `fault_at`'s reply is sent after the next one's
  hang_up,  // message `fault_at` gets no reply: its connection is closed (FIN)
  reset,    // message `fault_at` gets no reply: its connection is reset (RST)
  slow_above_rate,  // past `fault_at` messages/s, every message costs `slow_us` first
  close_first,      // the first `fault_at` connections are closed (FIN) as they are accepted
};

struct LineServerOptions {
  ReplyMode reply = ReplyMode::gotit;
  Fault fault = Fault::none;
  std::uint64_t fault_at = 0;  // 1-based, counted over all connections
  int slow_us = 0;              // Fault::slow_above_rate
};

class LineServer {
 public:
  explicit LineServer(LineServerOptions options = {});
  LineServer(const LineServer&) = delete;
  LineServer& operator=(const LineServer&) = delete;
  ~LineServer();

  std::uint16_t port() const { return port_; }
  std::uint64_t messages() const { return messages_.load(); }
  std::uint64_t accepted() const { return accepted_.load(); }
  // The distinct client addresses (without port) seen so far.
  std::set<std::string> peers() const;

 private:
  void serve();
  void pace(std::uint64_t number);

  LineServerOptions options_;
  UniqueFd listener_;
  UniqueFd stop_read_;   // the loop polls it; closing stop_write_ ends the loop
  UniqueFd stop_write_;
  std::uint16_t port_ = 0;
  std::atomic<std::uint64_t> messages_{0};
  std::atomic<std::uint64_t> accepted_{0};
  mutable std::mutex peers_mutex_;
  std::set<std::string> peers_;
  // Fault::slow_above_rate, server thread only.
  std::chrono::steady_clock::time_point period_start_ = std::chrono::steady_clock::now();
  std::uint64_t period_first_ = 0;
  bool slow_ = false;
  std::thread thread_;  // last: started after everything above exists
};

}  // namespace gotit::test

// What a blocking server counts, for the summary it prints when it stops.
// Shared by every connection thread, hence atomics; relaxed order is enough
// because nobody reads them to decide anything until the threads are joined.
#pragma once

#include <atomic>
#include <cstdint>

#include "gotit/blocking/server.hpp"

namespace gotit::blocking {

struct Counters {
  std::atomic<std::uint64_t> connections{0};
  std::atomic<std::uint64_t> messages{0};
  std::atomic<std::uint64_t> bytes_in{0};
  std::atomic<std::uint64_t> bytes_out{0};
  std::atomic<std::uint64_t> reaped{0};  // peers the kernel gave up on (keepalive)

  void add(const ServerTotals& more) {
    connections.fetch_add(more.connections, std::memory_order_relaxed);
    messages.fetch_add(more.messages, std::memory_order_relaxed);
    bytes_in.fetch_add(more.bytes_in, std::memory_order_relaxed);
    bytes_out.fetch_add(more.bytes_out, std::memory_order_relaxed);
    reaped.fetch_add(more.reaped, std::memory_order_relaxed);
  }
  ServerTotals snapshot() const {
    return {connections.load(std::memory_order_relaxed), messages.load(std::memory_order_relaxed),
            bytes_in.load(std::memory_order_relaxed), bytes_out.load(std::memory_order_relaxed),
            reaped.load(std::memory_order_relaxed)};
  }
};

}  // namespace gotit::blocking

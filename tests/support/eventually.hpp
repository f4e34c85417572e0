// Polls a condition until it holds or a deadline passes: how a test waits
// for something another process or thread does, bounded in time.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace gotit::test {

inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace gotit::test

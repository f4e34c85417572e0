// An idle pool larger than one process may hold: opened and held by helper
// processes (fork), each an IdlePool within its own file limit, on its own
// loopback source addresses (127.0.0.1-127.0.0.N: each address has its own
// ephemeral ports, so a million connections to one port fit). Each helper
// reports its counts through a pipe every 100 ms; the fleet sums them for
// the driver's one progress line.
//
// Owns the helpers: the destructor ends each (SIGTERM, which closes its
// connections) and reaps it. Loop thread only; the context outlives it.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <vector>

#include "gotit/bench/context.hpp"
#include "gotit/bench/idle_holder.hpp"

namespace gotit {

// What one helper reports: one write, below PIPE_BUF, so never torn.
struct HelperReport {
  std::int32_t opened = 0;
  std::int32_t failed = 0;
  std::int32_t held = 0;
  std::int32_t done = 0;
  std::array<std::uint64_t, kErrorKinds> errors{};
};

class IdleFleet : public IdleHolder {
 public:
  // `per_helper`: most connections one helper holds.
  IdleFleet(BenchContext& context, int target, int per_helper);
  ~IdleFleet() override;
  IdleFleet(const IdleFleet&) = delete;
  IdleFleet& operator=(const IdleFleet&) = delete;

  void start() override;
  bool done() const override;
  int target() const override { return target_; }
  int opened() const override;
  int failed() const override;
  int held() const override;
  std::size_t helpers() const { return helpers_.size(); }

 private:
  struct Helper {
    IdleFleet* fleet = nullptr;
    pid_t pid = 0;
    int target = 0;
    std::vector<SourceAddress> sources;
    UniqueFd reports;  // read end, non-blocking
    EventPtr event;
    HelperReport last;
    bool ended = false;  // its pipe closed: it exited or died
  };

  void plan(int per_helper);
  void start_helper(Helper& helper);
  [[noreturn]] void run_helper(Helper& helper, pid_t bench, int report_fd);
  void absorb(Helper& helper, const HelperReport& report);
  static void on_report(evutil_socket_t fd, short, void* argument);

  BenchContext& context_;
  int target_;
  std::vector<Helper> helpers_;  // sized once: events hold pointers into it
};

// Idle connections gotit-bench opens in its own process: all of them, or
// none when a fleet of helpers will (they do not fit the file limit).
int idle_in_this_process(const RunOptions& options);

}  // namespace gotit

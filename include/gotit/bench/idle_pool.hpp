// The idle pool: N connections opened before the load and held, never
// used -- the C10K part of the benchmark. At most kMaxConnecting connects
// are in flight at once so the server's accept queue is not flooded
// (a flood turns into SYN retries, which measure the kernel, not the
// server). An idle connection the server closes, or writes to, is an error.
//
// Owns its sockets and events; loop thread only. The context outlives it.
#pragma once

#include <vector>

#include "gotit/bench/context.hpp"
#include "gotit/bench/idle_holder.hpp"

namespace gotit {

class IdlePool : public IdleHolder {
 public:
  static constexpr int kMaxConnecting = 256;
  // One whole window of connects timed out, none connecting in between:
  // give_up() says why the rest are not tried.
  static constexpr int kTimeoutsInARowToGiveUp = kMaxConnecting;

  IdlePool(BenchContext& context, int target);
  IdlePool(const IdlePool&) = delete;
  IdlePool& operator=(const IdlePool&) = delete;

  // Starts the first connects; the loop does the rest.
  void start() override;
  // Every connect tried has succeeded or failed.
  bool done() const override { return finished_ == end_; }
  int target() const override { return target_; }
  int opened() const override { return opened_; }
  // Untried connects (after giving up) count as failed.
  int failed() const override { return finished_ - opened_ + (target_ - end_); }
  int held() const override { return held_; }

 private:
  struct Slot {
    IdlePool* pool = nullptr;
    UniqueFd fd;
    EventPtr event;  // one edge-triggered registration for the slot's life
    Clock::time_point started;
    bool connected = false;
  };

  void start_next();
  void connected(Slot& slot);
  void failed(Slot& slot, int error_number);
  void give_up();
  void read_unasked(Slot& slot);
  static void on_event(evutil_socket_t fd, short what, void* argument);

  BenchContext& context_;
  int target_;
  std::vector<Slot> slots_;  // sized once: callbacks hold pointers into it
  int next_ = 0;             // slots started
  int end_;                  // slots to try: target_, fewer once given up
  int timeouts_in_a_row_ = 0;
  int finished_ = 0;         // slots that connected or failed
  int opened_ = 0;
  int held_ = 0;
};

}  // namespace gotit

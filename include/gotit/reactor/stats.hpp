// The reactor's counters: what it accepted, refused, paused and moved.
// Written by the loop thread only; readable from any thread, or from the
// master process when they sit in its shared memory (--workers). Tests read
// them while the server runs; the summary line and SIGUSR1 print them.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace gotit {

// A counter with one writer. The writer updates with a plain load and store
// (no locked read-modify-write on the hot path: there is nobody to race
// with); readers on other threads see a recent value, never a torn one.
class Counter {
 public:
  void add(std::uint64_t n = 1) { set(get() + n); }
  void subtract(std::uint64_t n = 1) { set(get() - n); }
  void set(std::uint64_t value) { value_.store(value, std::memory_order_relaxed); }
  std::uint64_t get() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

struct ReactorStats {
  Counter accepted;               // connections taken into service
  Counter rejected_full;          // turned away with "Error: server full"
  Counter accept_pauses;          // listener paused after EMFILE/ENFILE from accept
  Counter slow_reader_throttles;  // times a peer's output passed the high-water mark
  Counter write_timeouts;         // peers closed because they stopped reading for good
  Counter idle_timeouts;          // peers closed by --idle-timeout
  Counter peers_reaped;           // vanished peers the kernel gave up on (--tcp-keepalive)
  Counter messages;               // complete messages answered
  Counter bytes_in;               // bytes read from peers
  Counter bytes_out;              // reply bytes produced (sent or queued)
  Counter bytes_via_input_buffer;  // bytes taken out of libevent's input evbuffer
                                   // (--reader bufferevent); 0 with --reader direct
  Counter drained;                // closed in order during a stop (FIN, then the peer's EOF)
  Counter cut;                    // still open when --shutdown-timeout passed: closed
  Counter open;                   // connections open now
  Counter peak;                   // most connections open at once
  Counter listener_closes;        // --workers: listening socket closed while full
};

// Copies every counter (the master: a stats line's base, a slot cleared for a new worker).
void copy_stats(const ReactorStats& from, ReactorStats& to);
// Adds every counter of `from` into `into`; `peak` becomes a sum of peaks.
void add_stats(const ReactorStats& from, ReactorStats& into);

// "accepted 3, rejected 0 (server full), messages 12, bytes in 72, bytes out 96,
//  peak connections 2, ..." -- one line, for the summary and SIGUSR1.
std::string format_stats(const ReactorStats& stats);

}  // namespace gotit

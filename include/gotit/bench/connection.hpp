// One active connection of the load: keeps `depth` requests in flight
// (closed loop) or sends on a schedule (open loop, --rate), checks every
// reply as it arrives and times it against the moment its request was sent
// -- or was due to be sent, so a stalled server cannot hide its stall
// behind the requests we politely did not send (coordinated omission).
//
//   connecting --connected--> running --error--> retry_wait --100 ms--> connecting
//        \--fails at start--> closed        (retries only while the load runs)
//
// With --new-connection-per-request a connection carries one request: the
// reply closes it (running -> connecting again at once), and its latency
// is timed from the start of the connect.
//
// Owns its socket and events; loop thread only. The context outlives it.
#pragma once

#include <vector>

#include "gotit/bench/context.hpp"

namespace gotit {

class BenchConnection {
 public:
  explicit BenchConnection(BenchContext& context, int index);
  BenchConnection(const BenchConnection&) = delete;
  BenchConnection& operator=(const BenchConnection&) = delete;

  enum class State { connecting, running, retry_wait, closed };

  void connect();
  // The load begins: send the first requests (or schedule them).
  void start_load();
  // Called every tick: a connection waiting longer than --timeout for a
  // reply is stalled; its requests in flight count as missing.
  void check_stalled(Clock::time_point now);
  // End of run: whatever is still in flight is missing; close.
  void finish();
  // Open loop, when the window closes: the requests that fell due in the
  // window but were never sent, because `depth` were still unanswered.
  // Counted, and timed as waiting until the window's end (a lower bound).
  void count_overdue(Clock::time_point window_end);

  State state() const { return state_; }
  std::size_t in_flight() const { return in_flight_; }

 private:
  void connected();
  void fail(ErrorKind kind, std::string example);
  void close_socket();
  void send_requests(std::size_t count, Clock::time_point scheduled, Clock::time_point now);
  void send_due(Clock::time_point now);  // open loop
  void flush();
  void on_replies(std::size_t count, Clock::time_point now);
  void read_available();
  void next_connection();

  static void on_connect(evutil_socket_t fd, short what, void* argument);
  static void on_readable(evutil_socket_t fd, short what, void* argument);
  static void on_writable(evutil_socket_t fd, short what, void* argument);
  static void on_timer(evutil_socket_t fd, short what, void* argument);

  BenchContext& context_;
  int index_;
  State state_ = State::closed;
  UniqueFd fd_;
  EventPtr read_event_;   // persistent while running
  EventPtr write_event_;  // connect completion, then only when send() would block
  EventPtr timer_;        // open-loop schedule or the retry delay
  ReplyChecker checker_;
  Clock::time_point connect_started_;
  Clock::time_point last_progress_;  // last reply, or first request in flight

  // Send times of the requests in flight, oldest first: a ring of `depth`.
  std::vector<Clock::time_point> sent_;
  std::size_t head_ = 0;
  std::size_t in_flight_ = 0;
  std::size_t unsent_bytes_ = 0;  // requested but not yet accepted by send()
  std::size_t batch_offset_ = 0;  // where in the request the next byte is
  // Tagged echo only: every request differs, so they are written here,
  // not sent from the shared batch. Capacity is kept between sends.
  std::string outbox_;
  std::size_t outbox_sent_ = 0;
  std::uint32_t next_sequence_ = 0;

  // Open loop only.
  Clock::duration interval_{};
  Clock::time_point next_due_;
};

}  // namespace gotit

// One peer of the reactor: a bufferevent, the shared Replier (protocol
// half, common/replier.hpp) and a state. Read it side by side with the
// blocking server's session: diff -y src/blocking/session.cpp src/reactor/session.cpp
//
// Reading has two paths (--reader): `direct`, our own recv into a 256-byte
// buffer on the bufferevent's own read event (bufferevent_read_event.hpp),
// or `bufferevent`, the public API's: libevent reads into the input evbuffer
// and our read callback takes the bytes out 256 at a time with
// bufferevent_read. Writing is the bufferevent's whenever the kernel cannot
// take a reply at once.
//
// The state is small and explicit:
//
//        start
//          |
//          v        output > high-water         output <= high-water / 2
//     +---------+  --------------------->  +-----------+
//     | reading |                          | throttled |
//     +---------+  <---------------------  +-----------+
//       |     |                                  |
//       |     | EOF, idle timeout                |
//       |     v                                  |
//       |   +-------------------+  output empty  |
//       |   | flushing_to_close | -------------> freed (socket closed)
//       |   +-------------------+                |
//       |                                        |
//       | oversized line, server stopping        | server stopping
//       v                                        |
//     +---------------------+ <------------------+
//     | flushing_to_discard |
//     +---------------------+
//       | output empty: shutdown(WR)
//       v
//     +------------+
//     | discarding |
//     +------------+
//       | EOF, the 2 s bound (not at a stop)
//       v
//     freed
//
// At a stop (SIGINT/SIGTERM) a reading session first answers what has
// already arrived (at most kStopPassBytes), then goes the lingering way with
// the others: replies out, FIN, discard until the peer's EOF (counted as
// drained). The idle, write and 2 s bounds are off then: one bound holds for
// the whole stop, --shutdown-timeout, and when it passes the server cuts
// every session still open, whatever its state (counted as cut).
//
// Why discard: close() with unread input makes the kernel send RST, not FIN,
// and an RST may destroy replies the peer has not read yet (the error line
// among them). So, like nginx's lingering close, we send FIN after the
// replies and read and drop input until the peer closes or the bound passes.
//
// A reset, a write error or a write timeout frees at once from any state:
// nobody is left to deliver to.
#pragma once

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <vector>

#include "gotit/common/event_handles.hpp"
#include "gotit/common/protocol.hpp"
#include "gotit/common/replier.hpp"
#include "gotit/common/trace.hpp"
#include "gotit/reactor/options.hpp"
#include "gotit/reactor/stats.hpp"

namespace gotit {

enum class SessionState : std::uint8_t {
  reading,            // reading requests, answering them
  throttled,          // too much output queued: not reading until it halves
  flushing_to_close,  // reading is over; freed once the output is on the wire
  flushing_to_discard,  // after an oversized line: flushing the replies
  discarding,         // FIN sent; reading and dropping input until EOF or the bound
};

class Session;
// A std::list node holds the Session itself (plus two pointers): one
// allocation per peer, like an intrusive list, and erase by iterator is O(1).
using SessionList = std::list<Session>;

// What every session shares: settings, the scratch reply buffer, the
// counters and the list that owns the connections. Owned by ReactorServer;
// loop thread only.
struct ServingContext {
  explicit ServingContext(ReactorStats& counters) : stats(counters) {}

  // The server's own, or a worker's slot in the master's shared memory.
  ReactorStats& stats;
  event_base* base = nullptr;
  // Copied from ReactorOptions (which holds the defaults) by ReactorServer.
  ReplyMode reply = ReplyMode::gotit;
  Reader reader = Reader::direct;  // the one in effect, after the version check
  std::size_t output_high_water = 0;
  std::chrono::seconds idle_timeout{0};   // 0: off
  std::chrono::seconds write_timeout{0};
  // Replies built by one read callback. One buffer for the whole server,
  // reused, so a request costs no allocation.
  std::string replies;
  SessionList sessions;
  // Closed sessions kept, bufferevent and all, for the next accepts: no
  // allocation per connection under churn (session_pool.cpp).
  SessionList spare;
  bool stopping = false;  // the server is shutting down: exit when the list empties
  // Worker mode: set while the listener is closed for being full; each
  // release activates it, so the worker checks for room when a peer leaves
  // (full_listener.cpp) instead of polling.
  event* room_check = nullptr;
  // --trace (session_trace.cpp). Here, not in the Session, so a Session is
  // no bigger for it; with it off nothing below is touched.
  bool trace = false;
  std::vector<std::uint64_t> trace_ids;  // connection number by fd, while open
  trace::Peer traced;  // the peer being served, for Replier's trace lines

  // Takes the accepted socket `fd` into service: a Session at the front of
  // the list, a spare one if there is one. False if out of memory: `fd` is
  // still the caller's then.
  bool adopt(evutil_socket_t fd);
  // Closes the session's socket and keeps the session spare, or frees it.
  // `where` must not be used after.
  void release(SessionList::iterator where);
  // The spare list's two ends (session_pool.cpp): a session for `fd` at the
  // front of `sessions`; a closed one kept spare or freed.
  bool take_spare_or_new(evutil_socket_t fd);
  void keep_spare_or_free(SessionList::iterator where);
  // --trace: numbers the connection accepted on `fd` and traces its accept.
  void trace_accept(int fd, const sockaddr* address, int length);
};

// Owns its bufferevent (and through BEV_OPT_CLOSE_ON_FREE the socket). Lives
// in ServingContext::sessions and ends only through ServingContext::release,
// which may keep it in ServingContext::spare for another socket
// (recycle/reuse, session_pool.cpp). Loop thread only.
class Session {
 public:
  Session(ServingContext& context, BufferEventPtr bev);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Installs the callbacks and timeouts and starts reading.
  void start(SessionList::iterator self);
  // Closes the socket and leaves the bufferevent clean, without one, for
  // reuse. False if it cannot (output still queued): free it instead.
  bool recycle();
  // A recycled session takes the new socket `fd`; start() follows.
  bool reuse(evutil_socket_t fd);
  // The server is stopping: answer what has already arrived (at most
  // kStopPassBytes), stop reading, flush, FIN, discard until the peer
  // closes. The server's stop timer cuts what is left (cut()).
  void begin_shutdown();
  // The stop's bound passed: close now, counted as cut. `this` is gone afterwards.
  void cut();

 private:
  // The callbacks. --reader direct: readiness of the socket (on_readable,
  // our own reader, see bufferevent_read_event.hpp). --reader bufferevent:
  // bytes in the input evbuffer (on_input) and EOF, timeout or error while
  // reading (on_event, which also gets the writer's trouble). Both: output
  // flushed (on_output_written) and trouble while writing. `self` is the
  // Session.
  static void on_readable(evutil_socket_t fd, short what, void* bev) noexcept;
  static void on_input(bufferevent* bev, void* self) noexcept;
  static void on_event(bufferevent* bev, short what, void* self) noexcept;
  static void on_output_written(bufferevent* bev, void* self) noexcept;
  static void on_write_trouble(bufferevent* bev, short what, void* self) noexcept;
  // --trace only (session_trace.cpp): the output evbuffer changed; shows
  // what libevent's writer handed to the kernel.
  static void on_output_traced(evbuffer* output, const evbuffer_cb_info* info,
                               void* self) noexcept;

  // --trace (session_trace.cpp): who we are in a trace line; the wake-up
  // a callback brings.
  trace::Peer traced() const { return {context_.trace_ids[static_cast<std::size_t>(fd_)], fd_}; }
  // For Replier: null when --trace is off.
  const trace::Peer* tracing() {
    if (!context_.trace) return nullptr;
    context_.traced = traced();
    return &context_.traced;
  }
  enum class Woken : std::uint8_t {
    read_event,   // --reader direct: EV_READ or EV_TIMEOUT in `flags`
    bufferevent,  // libevent's reader or writer: BEV_EVENT_* in `flags`
    input,        // --reader bufferevent: libevent read bytes into the input evbuffer
  };
  void trace_wake(Woken source, short flags);
  void trace_state(SessionState next);
  void trace_queued(std::size_t bytes);   // the unsent tail goes to libevent's writer
  void trace_discard(std::size_t bytes);  // --reader bufferevent: dropped from the input evbuffer
  void set_state(SessionState next) {
    if (context_.trace) trace_state(next);
    state_ = next;
  }

  void handle_readable(short what);
  void handle_read_event(short what);  // --reader bufferevent: EOF, timeout, error
  void handle_read_timeout();
  void handle_output_written();
  void handle_write_trouble(short what);

  // Reads and answers what has arrived; see the definition.
  ReadStop read_requests(std::size_t budget, ReadUntil until);
  bool input_waiting();  // bytes in the input evbuffer (--reader bufferevent only)
  // One read into `buffer` from the reader in effect: recv()'s contract.
  ssize_t read_some(char* buffer, std::size_t size, ReadUntil until);
  // After EOF: the bytes after the last '\n' are one last message.
  void finish_after_half_close();
  // Adds what the replier framed to the counters.
  void count(Replier::Framed framed);
  bool answer_what_has_arrived();  // false if the peer is gone
  // Sends the scratch buffer in order; false if the peer is gone.
  bool flush_replies();
  void throttle_if_over_high_water();
  void flush_then_close();
  void flush_then_discard();
  void start_discarding();  // may free `this`
  void discard_input();     // may free `this`
  void close_if_past_discard_deadline();  // may free `this`
  void close_orderly();  // close_now, counted as drained during a stop
  void close_now();  // `this` is gone afterwards

  ServingContext& context_;
  BufferEventPtr bev_;
  SessionList::iterator self_;  // our node in context_.sessions
  Replier replier_;             // holds heap memory only while a line is split
  SessionState state_ = SessionState::reading;
  // The socket, read once per connection: the bufferevent keeps it until
  // recycle(), and the read path needs it for every recv.
  // It sits in padding: the Session is no bigger for it.
  int fd_;
  std::chrono::steady_clock::time_point discard_deadline_;  // while discarding
};

}  // namespace gotit

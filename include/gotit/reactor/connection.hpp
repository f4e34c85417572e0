// One peer of the reactor: a bufferevent, a line framer and a state.
//
// Reading is ours (recv into a 256-byte buffer on the bufferevent's own read
// event); writing is the bufferevent's whenever the kernel cannot take a
// reply at once.
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
//       |     | EOF, idle timeout,               | server stopping
//       |     | server stopping                  |
//       |     v                                  v
//       |   +-------------------+   output empty
//       |   | draining_to_close | --------------> freed (socket closed)
//       |   +-------------------+
//       |            ^ server stopping
//       | oversized  |
//       | line       |
//       v            |
//     +---------------------+  output empty:   +------------+
//     | draining_to_discard | ---------------> | discarding |
//     +---------------------+  shutdown(WR)    +------------+
//                                                    |
//                          EOF, the 2 s bound, server stopping
//                                                    v
//                                                  freed
//
// Why discard: close() with unread input makes the kernel send RST, not FIN,
// and an RST may destroy replies the peer has not read yet (the error line
// among them). So, like nginx's lingering close, we send FIN after the
// replies and read and drop input until the peer closes or the bound passes.
//
// A reset, a write error or a write timeout frees at once from any state:
// nobody is left to deliver to.
#pragma once

#include <event2/bufferevent.h>

#include <chrono>
#include <cstdint>
#include <list>
#include <string>
#include <string_view>

#include "gotit/common/event_handles.hpp"
#include "gotit/common/protocol.hpp"
#include "gotit/reactor/stats.hpp"

namespace gotit {

enum class ConnectionState : std::uint8_t {
  reading,            // reading requests, answering them
  throttled,          // too much output queued: not reading until it halves
  draining_to_close,  // reading is over; freed once the output is on the wire
  draining_to_discard,  // after an oversized line: flushing the replies
  discarding,         // FIN sent; reading and dropping input until EOF or the bound
};

class Connection;
// A std::list node holds the Connection itself (plus two pointers): one
// allocation per peer, like an intrusive list, and erase by iterator is O(1).
using ConnectionList = std::list<Connection>;

// What every connection shares: settings, the scratch reply buffer, the
// counters and the list that owns the connections. Owned by ReactorServer;
// loop thread only.
struct ServingContext {
  event_base* base = nullptr;
  // Copied from ReactorOptions (which holds the defaults) by ReactorServer.
  ReplyMode reply = ReplyMode::gotit;
  std::size_t output_high_water = 0;
  std::chrono::seconds idle_timeout{0};   // 0: off
  std::chrono::seconds write_timeout{0};
  ReactorStats stats;
  // Replies built by one read callback. One buffer for the whole server,
  // reused, so a request costs no allocation.
  std::string replies;
  ConnectionList connections;
  bool stopping = false;  // the server is shutting down: exit when the list empties

  // Takes `bev` into service: a new Connection at the front of the list.
  void adopt(BufferEventPtr bev);
  // Frees the connection (and its socket). `where` must not be used after.
  void release(ConnectionList::iterator where);
};

// Owns its bufferevent (and through BEV_OPT_CLOSE_ON_FREE the socket). Lives
// in ServingContext::connections and frees itself only through
// ServingContext::release. Loop thread only.
class Connection {
 public:
  Connection(ServingContext& context, BufferEventPtr bev);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Installs the callbacks and timeouts and starts reading.
  void start(ConnectionList::iterator self);
  // The server is stopping: answer what has already arrived, stop reading,
  // flush, close.
  void begin_shutdown();

 private:
  // How far a pass of read_requests goes: a turn of the loop stops at the
  // first short read (the rest, if any, is reported again); the last pass
  // at shutdown reads until the kernel says EAGAIN or EOF, so that a final
  // unterminated line followed by the peer's FIN is not left behind.
  enum class ReadUntil { short_read, empty };
  // How a pass of read_requests ended.
  enum class ReadStop {
    for_now,    // the socket is empty for now, or this turn's share is read
    eof,        // the peer half-closed: no more requests will come
    oversized,  // a line passed 255 bytes; its error reply is queued
    peer_gone,  // recv or send failed: nobody is left to answer
  };

  // Readiness of the socket (our own reader, see bufferevent_read_event.hpp),
  // and the two bufferevent callbacks that are left: output drained, and
  // trouble while writing. `self` is the Connection.
  static void on_readable(evutil_socket_t fd, short what, void* bev) noexcept;
  static void on_output_drained(bufferevent* bev, void* self) noexcept;
  static void on_write_trouble(bufferevent* bev, short what, void* self) noexcept;

  void handle_readable(short what);
  void handle_read_timeout();
  void handle_output_drained();
  void handle_write_trouble(short what);

  // Reads and answers what the kernel holds for us; see the definition.
  ReadStop read_requests(std::size_t budget, ReadUntil until);
  // After EOF: the bytes after the last '\n' are one last message.
  void finish_after_half_close();
  // Counts and logs one message and appends its reply to the scratch buffer.
  void answer(std::string_view message);
  // Feeds bytes to the framer, appending replies to the scratch buffer.
  FeedResult consume(std::string_view bytes);
  // At EOF: the framer's last partial line, answered the same way.
  FeedResult finish_framing();
  bool answer_what_has_arrived();  // false if the peer is gone
  // Sends the scratch buffer in order; false if the peer is gone.
  bool flush_replies();
  void throttle_if_over_high_water();
  void drain_then_close();
  void drain_then_discard();
  void start_discarding();  // may free `this`
  void discard_input();     // may free `this`
  void close_now();  // `this` is gone afterwards

  ServingContext& context_;
  BufferEventPtr bev_;
  ConnectionList::iterator self_;  // our node in context_.connections
  LineFramer framer_;              // holds heap memory only while a line is split
  ConnectionState state_ = ConnectionState::reading;
  // The socket, read once: the bufferevent keeps it for life (nothing here
  // calls bufferevent_setfd), and the read path needs it for every recv.
  // It sits in padding: the Connection is no bigger for it.
  int fd_;
  std::chrono::steady_clock::time_point discard_deadline_;  // while discarding
};

}  // namespace gotit

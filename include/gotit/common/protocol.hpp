// The gotit wire protocol, shared by every server and checked by the bench.
//
// A message is a line: the bytes up to '\n', with a '\r' just before it
// dropped. At most 255 bytes of content -- the tutorial's `char buffer[256]`
// with room for its terminator. An empty line is a message too. Bytes left
// after the last '\n' when the peer half-closes count as one last message.
//
// LineFramer is pure: no I/O, no allocation while messages arrive whole in
// one read. It owns only the bytes of a line that is split across reads.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace gotit {

inline constexpr std::size_t kMaxMessageBytes = 255;
// The size of the read buffer in both servers, as in the tutorial.
inline constexpr std::size_t kReadBufferBytes = kMaxMessageBytes + 1;

inline constexpr std::string_view kGotItReply = "Got it!\n";
inline constexpr std::string_view kOversizedReply =
    "Error: message longer than 255 bytes\n";
inline constexpr std::string_view kServerFullReply = "Error: server full\n";

// After an oversized line both servers close with a lingering close: FIN
// after the replies, then read and drop input until the peer closes, or
// this long. Bounded in time only, not in bytes: an honest peer that
// pipelined a big batch before it saw the error reply must be read to its
// end, or the close still resets; dropping input is cheap, so a rogue peer
// costs at most this (and delays the iterative server at most this).
inline constexpr std::chrono::seconds kLingerBound{2};

// A peer that takes none of its queued replies for this long is closed, in
// both servers (the --write-timeout default of both; in the blocking one a
// deadline for each batch of replies). 10 s, the shorter of the two bounds the servers had (30 s
// and 10 s): in the iterative blocking model such a peer holds the whole
// server for this long, and a peer that reads nothing for 10 s while its
// replies wait is not coming back soon.
inline constexpr std::chrono::seconds kSlowReaderTimeout{10};

// A graceful stop (SIGINT/SIGTERM) in both servers: answer the complete
// requests already received -- at most this many bytes of them per
// connection, so a peer that keeps streaming cannot hold the stop open --
// send the replies, FIN after the last whole one, then read and drop input
// until the peer closes (drained) or --shutdown-timeout passes (cut).
inline constexpr std::size_t kStopPassBytes = 1 << 20;
inline constexpr std::chrono::seconds kDefaultShutdownTimeout{10};
// Before a stopping server closes its listener it accepts the clients still
// queued on it (close() would reset them: connected as far as they know,
// their requests perhaps sent) and stops them like the rest -- at most this
// many, what one accept queue holds at Linux's default net.core.somaxconn.
// New handshakes are refused by then (refuse_handshakes.hpp); the bound is
// for a system where they cannot be, so that clients still connecting
// cannot hold the stop open.
inline constexpr int kMaxQueuedAtStop = 4096;
// A client sends its first request right after its handshake, but the stop
// answers only what has arrived: a connection accepted just before it (or
// by its drain) would get FIN while its request is on the way, and no reply.
// So a connection younger than this when the stop comes gets until it is
// this old for its request to arrive (never past --shutdown-timeout). A
// client still silent then was not about to send. Measured with
// scripts/stop-storm.py (docs/architecture.md, "The stop").
inline constexpr std::chrono::milliseconds kFirstRequestGrace{250};

enum class ReplyMode { gotit, echo };

// Parses "gotit" or "echo"; nullopt for anything else.
std::optional<ReplyMode> parse_reply_mode(std::string_view text);
std::string_view to_string(ReplyMode mode);

// Appends the reply to `message` (without its '\n') to `out`.
void append_reply(ReplyMode mode, std::string_view message, std::string& out);

enum class FeedResult {
  ok,         // every complete message was delivered; keep reading
  oversized,  // a line passed 255 bytes: reply kOversizedReply and close
};

// Splits a byte stream into messages. One framer per connection.
class LineFramer {
 public:
  // Delivers each complete message in `bytes` to on_message(std::string_view)
  // in order. A view is valid only during the call. Stops at the first
  // oversized line; the framer is then spent.
  template <typename OnMessage>
  FeedResult feed(std::string_view bytes, OnMessage&& on_message);

  // At the peer's half-close: the bytes after the last '\n', if any, are one
  // last message. Returns oversized if that remainder is too long.
  template <typename OnMessage>
  FeedResult finish(OnMessage&& on_message);

  // Bytes of an unfinished line held between reads.
  std::size_t pending_bytes() const { return pending_size_; }

 private:
  // A line of 255 content bytes may still be followed by "\r\n", so up to
  // 256 raw bytes can be pending before the verdict is certain.
  static constexpr std::size_t kMaxPendingBytes = kMaxMessageBytes + 1;

  static std::string_view strip_cr(std::string_view line);
  bool append_pending(std::string_view part);  // false once oversized
  std::string_view pending() const { return {pending_.get(), pending_size_}; }
  void release_pending() {
    pending_.reset();
    pending_size_ = 0;
  }
  // The verdict is oversized, for good: nothing more is kept.
  FeedResult spend() {
    release_pending();
    spent_ = true;
    return FeedResult::oversized;
  }

  // The unfinished line: kMaxPendingBytes while a line is split across
  // reads, unallocated otherwise -- an idle peer has no line in progress.
  // Not a std::string: its 32 bytes would be 16 more than this pointer and
  // size, in each of 19,000 idle connections (docs/benchmarks.md, memory).
  std::unique_ptr<char[]> pending_;
  std::uint16_t pending_size_ = 0;
  bool spent_ = false;
};

template <typename OnMessage>
FeedResult LineFramer::feed(std::string_view bytes, OnMessage&& on_message) {
  if (spent_) return FeedResult::oversized;
  while (!bytes.empty()) {
    const std::size_t newline = bytes.find('\n');
    if (newline == std::string_view::npos) {
      if (!append_pending(bytes)) return FeedResult::oversized;
      return FeedResult::ok;
    }
    const std::string_view head = bytes.substr(0, newline);
    bytes.remove_prefix(newline + 1);
    std::string_view message;
    if (pending_size_ == 0) {
      message = strip_cr(head);  // the common case: a whole line, no copy
    } else {
      if (!append_pending(head)) return FeedResult::oversized;
      message = strip_cr(pending());
    }
    if (message.size() > kMaxMessageBytes) return spend();
    on_message(message);
    if (pending_) release_pending();  // only after a split line: whole ones skip it
  }
  return FeedResult::ok;
}

template <typename OnMessage>
FeedResult LineFramer::finish(OnMessage&& on_message) {
  if (spent_) return FeedResult::oversized;
  if (pending_size_ == 0) return FeedResult::ok;
  if (pending_size_ > kMaxMessageBytes) return spend();
  on_message(pending());
  release_pending();
  return FeedResult::ok;
}

}  // namespace gotit

// The protocol half of a session, written once for both servers: bytes in,
// replies out. What a server does around it -- who waits, where, and how the
// replies reach the socket -- is its own business (src/reactor/session.cpp,
// src/blocking/session.cpp; read them side by side with diff -y).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "gotit/common/protocol.hpp"
#include "gotit/common/trace.hpp"

namespace gotit {

// How far one read pass of a session goes. A pass in normal service stops at
// the first short read: the socket is empty (a further read would only say
// EAGAIN, a wasted system call). The last pass at a server's stop reads until
// the kernel says EAGAIN or EOF, so that a final unterminated line followed
// by the peer's FIN is not left behind.
enum class ReadUntil { short_read, empty };

// How a read pass ended, in both servers.
enum class ReadStop {
  for_now,    // the socket is empty for now, or this turn's share is read
  eof,        // the peer half-closed: no more requests will come
  oversized,  // a line passed 255 bytes; its error reply is queued
  peer_gone,  // a read or write failed: nobody is left to answer
};

// Frames one peer's bytes and appends the replies to a buffer the caller
// owns (the reactor's is shared by every peer; the blocking session's is its
// own). Logs each message at -vv ("Here is the message: ..."). Counts nothing
// itself: it says how many messages it framed and the caller adds them to its
// own counters (plain in the reactor, atomic in the blocking server).
//
// Owns nothing but the LineFramer: 16 bytes, no heap while lines arrive
// whole, so an idle reactor peer costs no more for it. One thread at a time.
class Replier {
 public:
  struct Framed {
    FeedResult verdict = FeedResult::ok;  // oversized: kOversizedReply is appended
    std::size_t messages = 0;             // complete messages answered
  };

  // Answers every complete message in `bytes`, appending to `replies`.
  // With `traced` (--trace; null when off) each message gets a trace line.
  Framed answer(std::string_view bytes, ReplyMode mode, std::string& replies,
                const trace::Peer* traced = nullptr);
  // At the peer's half-close: the bytes after the last '\n' are one last message.
  Framed answer_remainder(ReplyMode mode, std::string& replies,
                          const trace::Peer* traced = nullptr);

 private:
  LineFramer framer_;
};

}  // namespace gotit

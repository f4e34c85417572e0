// --trace: one line per event of every connection, for a student watching
// one or two of them. Both servers speak this vocabulary, so a trace of the
// same client session on gotit-reactor and gotit-blocking reads side by side:
//
//   trace #1 fd 7 accept from [::1]:50312
//   trace #1 fd 7 wake readable            what woke the loop (or the thread)
//   trace #1 fd 7 recv 3 bytes             what the read call returned:
//   trace #1 fd 7 recv 0 (peer half-closed)   read/recv by name, as called
//   trace #1 fd 7 recv -1 EAGAIN
//   trace #1 fd 7 framed "hello" (5 bytes)  a message the framer cut
//   trace #1 fd 7 send 8 of 8 bytes
//   trace #1 fd 7 state reading -> flushing_to_close
//   trace #1 fd 7 shutdown SHUT_WR (FIN after the last reply)
//   trace #1 fd 7 close
//
// The caller checks its own flag first (`if (trace) trace::...`), so tracing
// off costs one predictable branch: no formatting, no allocation. Lines go
// to stderr through log::write_line (whole, unbuffered, with the worker
// prefix), whatever -v says. Every function leaves errno as it found it:
// the callers read errno after tracing a failed call.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace gotit::trace {

// Who a line is about: the connection's number (from 1, in accept order)
// and its socket.
struct Peer {
  std::uint64_t id = 0;
  int fd = -1;
};

// "accept from [::1]:50312"
void accepted(Peer peer, std::string_view from);
// What woke the session: "wake readable", "wake writable", "wake read timeout",
// "wake stop".
void woke(Peer peer, std::string_view why);
// A read call's result, `call` as made ("recv", "read"): "recv 3 bytes",
// "recv 0 (peer half-closed)", "recv -1 EAGAIN".
void received(Peer peer, std::string_view call, ssize_t result, int error);
// A send's result: "send 8 of 8 bytes", "send -1 EAGAIN (0 of 8 bytes)".
void sent(Peer peer, ssize_t result, std::size_t asked, int error);
// A message the framer cut out of the bytes: "framed \"hello\" (5 bytes)",
// quoted, with bytes other than printable ASCII escaped.
void framed(Peer peer, std::string_view message);
// "state reading -> flushing_to_close"
void state(Peer peer, std::string_view from, std::string_view to);
// Anything else, in a few words: "shutdown SHUT_WR ...", "close", ...
void event(Peer peer, std::string_view what);

// "EAGAIN", "ECONNRESET", ...: the name, shorter than strerror's sentence.
std::string_view errno_name(int error);

}  // namespace gotit::trace

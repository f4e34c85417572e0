// One client served start to end, in the blocking style: wait for bytes,
// read them into the tutorial's 256-byte buffer, frame, reply, repeat. The
// same for every model -- iterative, threads and fork differ only in which
// thread or process calls serve_client.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "counters.hpp"
#include "gotit/common/net.hpp"
#include "gotit/common/protocol.hpp"

namespace gotit::blocking {

// A client just accepted: its socket, its name and its number.
struct AcceptedClient {
  UniqueFd fd;       // the accepted socket, blocking
  std::string peer;  // "[::ffff:127.0.0.1]:50312", for the log
  std::uint64_t id = 0;  // from 1, in accept order: "#3" in --trace lines
};

// What one session takes from the command line: its bounds and --trace.
struct SessionLimits {
  // Writing the replies to one read must finish within this (a deadline for
  // the whole batch, not per send(): a peer that takes a few bytes now and
  // then cannot stretch it).
  std::chrono::seconds write_timeout{kSlowReaderTimeout};
  // From the moment the session sees the stop: answering, lingering, all of it.
  std::chrono::milliseconds shutdown_timeout{kDefaultShutdownTimeout};
  bool trace = false;  // --trace: a line per event (common/trace.hpp)
};

// Serves `client` until it leaves, sends an oversized line, fails, or stop_fd
// becomes readable. At a stop it answers the complete messages already
// received (at most kStopPassBytes; a session younger than
// kFirstRequestGrace waits until it is that old for them), sends FIN after
// the last reply and reads and drops input until the client closes (counted
// as drained) or limits.shutdown_timeout passes (counted as cut). After an
// oversized line it lingers likewise, at most kLingerBound. So the close is
// a FIN, never a RST that could destroy replies the client has not read. The
// caller closes the socket right after: who owns it differs by model. Never
// throws: a client's failure is that client's business. Adds to `counters`
// (thread-safe) as it goes.
void serve_client(const AcceptedClient& client, ReplyMode reply, const SessionLimits& limits,
                  int stop_fd, Counters& counters);

}  // namespace gotit::blocking

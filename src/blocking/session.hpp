// One client served start to end, in the blocking style: wait for bytes,
// read them into the tutorial's 256-byte buffer, frame, reply, repeat. The
// same for every model -- iterative, threads and fork differ only in which
// thread or process calls serve_client.
#pragma once

#include <string>

#include "counters.hpp"
#include "gotit/common/net.hpp"
#include "gotit/common/protocol.hpp"

namespace gotit::blocking {

// A client just accepted: its socket and its name.
struct AcceptedClient {
  UniqueFd fd;       // the accepted socket, blocking
  std::string peer;  // "[::ffff:127.0.0.1]:50312", for the log
};

// Serves `client` until it leaves, sends an oversized line, fails, or stop_fd
// becomes readable (then it first answers the complete messages already
// received). After an oversized line it lingers (at most kLingerBound) so the
// close is a FIN, not a RST that could destroy the replies. The caller closes
// the socket right after: who owns it differs by model. Never throws: a
// client's failure is that client's business. Adds to `counters`
// (thread-safe) as it goes.
void serve_client(const AcceptedClient& client, ReplyMode reply, int stop_fd, Counters& counters);

}  // namespace gotit::blocking
